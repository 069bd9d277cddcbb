from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from earnings import selectors, services
from earnings.api.permissions import IsTutor
from earnings.api.serializers import (
    AnalyticsQuerySerializer,
    AnalyticsSerializer,
    EarningListQuerySerializer,
    EarningSerializer,
    OverviewSerializer,
    PayoutMethodCreateSerializer,
    PayoutMethodSerializer,
    PayoutMethodUpdateSerializer,
    WithdrawalCreateSerializer,
    WithdrawalSerializer,
)
from earnings.models import EarningKind, EarningStatus
from wemaster.core.errors import NotFound
from wemaster.core.idempotency import idempotent
from wemaster.core.schema import ErrorSerializer
from wemaster.core.serializers import reject_body
from wemaster.core.throttles import ScopedWriteThrottleMixin

TUTOR_ONLY = [IsAuthenticated, IsTutor]
DEFAULT_RANGE_DAYS = {"day": 30, "week": 12 * 7, "month": 365}


class OverviewView(APIView):
    permission_classes = TUTOR_ONLY

    @extend_schema(responses={200: OverviewSerializer})
    def get(self, request):
        return Response(selectors.earnings_overview(tutor_id=request.user.id))


class AnalyticsView(APIView):
    """Earnings per UTC bucket; `from`/`to` are inclusive dates (default: the last 30 days,
    12 weeks or 12 months by period)."""

    permission_classes = TUTOR_ONLY

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=["day", "week", "month"]),
            OpenApiParameter("group_by", str, enum=["subject", "student"]),
            OpenApiParameter("from", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("to", str, description="YYYY-MM-DD, inclusive"),
        ],
        responses={200: AnalyticsSerializer},
    )
    def get(self, request):
        query = AnalyticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        end = values.get("to") or timezone.now().date()
        start = values.get("from") or end - timedelta(days=DEFAULT_RANGE_DAYS[values["period"]])
        return Response(
            selectors.earnings_analytics(
                tutor_id=request.user.id,
                period=values["period"],
                start=start,
                end=end,
                group_by=values.get("group_by"),
            )
        )


class EarningListView(generics.ListAPIView):
    """Earning transactions with their fee breakdown and clearance date, newest first."""

    permission_classes = TUTOR_ONLY
    serializer_class = EarningSerializer

    def get_queryset(self):
        query = EarningListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.earning_list(
            tutor_id=self.request.user.id,
            kind=query.validated_data.get("type"),
            status=query.validated_data.get("status"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, enum=EarningKind.values),
            OpenApiParameter("status", str, enum=EarningStatus.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EarningDetailView(APIView):
    permission_classes = TUTOR_ONLY

    @extend_schema(responses={200: EarningSerializer})
    def get(self, request, pk: int):
        earning = selectors.earning_list(tutor_id=request.user.id).filter(pk=pk).first()
        if earning is None:
            raise NotFound("Transaction not found.")
        return Response(EarningSerializer(earning).data)


EARNINGS = ["earnings"]
NO_SUCH_METHOD = OpenApiResponse(ErrorSerializer, description="`not_found`: not one of yours, or removed")


class PayoutMethodListCreateView(generics.ListAPIView):
    """The caller's payout methods (removed ones left out), newest first; POST adds one."""

    permission_classes = TUTOR_ONLY
    serializer_class = PayoutMethodSerializer

    def get_queryset(self):
        return selectors.payout_method_list(tutor_id=self.request.user.id)

    @extend_schema(tags=EARNINGS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=EARNINGS, request=PayoutMethodCreateSerializer, responses={201: PayoutMethodSerializer})
    def post(self, request):
        data = PayoutMethodCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        method = services.payout_method_add(tutor=request.user, **data.validated_data)
        return Response(PayoutMethodSerializer(method).data, status=status.HTTP_201_CREATED)


class PayoutMethodDetailView(APIView):
    """Make a payout method the default, or remove it. A removed method disappears from the list
    and cannot receive new withdrawals; a withdrawal already requested to it is still paid there.
    Removing the default makes the most recent remaining method the default."""

    permission_classes = TUTOR_ONLY

    @extend_schema(
        tags=EARNINGS,
        request=PayoutMethodUpdateSerializer,
        responses={200: PayoutMethodSerializer, 404: NO_SUCH_METHOD},
    )
    def patch(self, request, pk: int):
        data = PayoutMethodUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        method = services.payout_method_set_default(
            tutor=request.user, payout_method_id=pk, is_default=data.validated_data["is_default"]
        )
        return Response(PayoutMethodSerializer(method).data)

    @extend_schema(tags=EARNINGS, responses={204: OpenApiResponse(description="Removed"), 404: NO_SUCH_METHOD})
    def delete(self, request, pk: int):
        reject_body(request)
        services.payout_method_remove(tutor=request.user, payout_method_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WithdrawalListCreateView(ScopedWriteThrottleMixin, generics.ListAPIView):
    permission_classes = TUTOR_ONLY
    serializer_class = WithdrawalSerializer
    throttle_scope = "withdrawal"

    def get_queryset(self):
        return selectors.withdrawal_list(tutor_id=self.request.user.id)

    @extend_schema(
        request=WithdrawalCreateSerializer,
        responses={201: WithdrawalSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    @idempotent
    def post(self, request):
        data = WithdrawalCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_request(
            tutor=request.user,
            amount=data.validated_data["amount"],
            payout_method_id=data.validated_data["payout_method"],
        )
        withdrawal = selectors.withdrawal_list(tutor_id=request.user.id).get(pk=withdrawal.pk)
        return Response(WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)


class WithdrawalDetailView(APIView):
    permission_classes = TUTOR_ONLY

    @extend_schema(responses={200: WithdrawalSerializer})
    def get(self, request, pk: int):
        withdrawal = selectors.withdrawal_list(tutor_id=request.user.id).filter(pk=pk).first()
        if withdrawal is None:
            raise NotFound("Withdrawal not found.")
        return Response(WithdrawalSerializer(withdrawal).data)
