"""Framework-level API views."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.core import serializers


class PingView(APIView):
    """A bare DRF view touching no database and no cache: the framework ceiling the benchmark
    divides every endpoint's throughput by."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(responses={200: inline_serializer("Pong", {"pong": serializers.BooleanField()})})
    def get(self, request):
        return Response({"pong": True})
