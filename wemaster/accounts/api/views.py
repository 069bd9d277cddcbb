from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.pagination import Cursor
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.accounts import selectors, services
from wemaster.accounts.api import auth, directory
from wemaster.accounts.api.serializers import MeSerializer, MeUpdateSerializer, TutorSerializer
from wemaster.core.throttles import ScopedWriteThrottleMixin


class MeView(ScopedWriteThrottleMixin, APIView):
    permission_classes = [IsAuthenticated]
    # Deactivation checks the password: limited per user like a password change.
    throttle_scope = "password"
    throttle_scope_methods = ("DELETE",)

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(selectors.user_with_profile(user_id=request.user.id)).data)

    @extend_schema(request=MeUpdateSerializer, responses={200: MeSerializer})
    def patch(self, request):
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_update(user=request.user, **data.validated_data)
        return Response(MeSerializer(selectors.user_with_profile(user_id=request.user.id)).data)

    @auth.DEACTIVATE_SCHEMA
    def delete(self, request):
        return auth.deactivate(request)


class TutorListView(generics.ListAPIView):
    """Public tutor directory, newest tutors first; `?subject=` filters by subject name."""

    permission_classes = [AllowAny]
    serializer_class = TutorSerializer

    def get_queryset(self):
        return selectors.tutor_list(subject=self.request.query_params.get("subject"))

    @extend_schema(parameters=[OpenApiParameter("subject", str, description="Subject name, e.g. algebra")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        """Later pages come straight from the database; the first one through the cache."""
        if request.query_params.get(self.paginator.cursor_query_param):
            return super().list(request, *args, **kwargs)
        page_size = self.paginator.get_page_size(request)
        page = directory.first_page(subject=request.query_params.get("subject"), page_size=page_size)
        next_link = None
        if page["next_after"] is not None:
            self.paginator.base_url = request.build_absolute_uri()
            next_link = self.paginator.encode_cursor(Cursor(offset=0, reverse=False, position=page["next_after"]))
        return Response({"next": next_link, "previous": None, "results": page["results"]})
