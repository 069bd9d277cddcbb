from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from wallet import selectors, services
from wallet.api.serializers import (
    AutoReloadInputSerializer,
    AutoReloadSerializer,
    PaymentMethodCreateSerializer,
    PaymentMethodSerializer,
    PaymentMethodUpdateSerializer,
    TopUpCreatedSerializer,
    TopUpCreateSerializer,
    TopUpSerializer,
    TransactionFilterSerializer,
    TransactionSerializer,
    WalletSerializer,
)
from wallet.errors import NotAStudent
from wallet.models import TopUpStatus
from wemaster.core.errors import NotFound, error_response
from wemaster.core.idempotency import idempotent
from wemaster.core.payments import CardDeclined
from wemaster.core.schema import ErrorSerializer
from wemaster.core.serializers import reject_body
from wemaster.core.throttles import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="1-255 characters; a retry with the same key and body replays the first response.",
)


class IsStudent(BasePermission):
    """Wallet endpoints are students' only: a tutor gets 403 `not_a_student` (anonymous: 401)."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if not request.user.is_student:
            raise NotAStudent()
        return True


class StudentWalletView(APIView):
    permission_classes = [IsStudent]

    def wallet(self):
        return services.wallet_ensure(student=self.request.user)


class WalletView(StudentWalletView):
    @extend_schema(responses={200: WalletSerializer, 403: ErrorSerializer})
    def get(self, request):
        wallet = selectors.wallet_with_account(student_id=request.user.id) or self.wallet()
        return Response(WalletSerializer(wallet).data)


class AutoReloadView(StudentWalletView):
    @extend_schema(request=AutoReloadInputSerializer, responses={200: AutoReloadSerializer})
    def put(self, request):
        data = AutoReloadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        wallet = services.auto_reload_configure(
            wallet=self.wallet(),
            enabled=values["enabled"],
            threshold=values["threshold"],
            amount=values["amount"],
            monthly_cap=values["monthly_cap"],
            payment_method_id=values.get("payment_method"),
        )
        return Response(AutoReloadSerializer(wallet).data)


class PaymentMethodListView(StudentWalletView, generics.ListAPIView):
    """The caller's cards, newest first (`is_default` marks the one charged by default); POST
    attaches one."""

    serializer_class = PaymentMethodSerializer

    def get_queryset(self):
        return selectors.payment_method_list(student_id=self.request.user.id)

    @extend_schema(
        request=PaymentMethodCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PaymentMethodSerializer, 400: ErrorSerializer},
    )
    @idempotent(atomic=False)
    def post(self, request):
        data = PaymentMethodCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        method = services.payment_method_add(wallet=self.wallet(), **data.validated_data)
        return Response(PaymentMethodSerializer(method).data, status=status.HTTP_201_CREATED)


class PaymentMethodDetailView(StudentWalletView):
    def payment_method(self, payment_method_id: int):
        method = selectors.payment_method_of_student(
            student_id=self.request.user.id, payment_method_id=payment_method_id
        )
        if method is None:
            raise NotFound()
        return method

    @extend_schema(
        request=PaymentMethodUpdateSerializer, responses={200: PaymentMethodSerializer, 404: ErrorSerializer}
    )
    def patch(self, request, payment_method_id: int):
        data = PaymentMethodUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        method = services.payment_method_set_default(
            payment_method=self.payment_method(payment_method_id), is_default=data.validated_data["is_default"]
        )
        return Response(PaymentMethodSerializer(method).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted"), 404: ErrorSerializer})
    def delete(self, request, payment_method_id: int):
        reject_body(request)
        services.payment_method_delete(payment_method=self.payment_method(payment_method_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TopUpListView(StudentWalletView, generics.ListAPIView):
    """The caller's top-ups, newest first, whatever their outcome; POST charges a card."""

    serializer_class = TopUpSerializer
    throttle_classes = [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "top_up"

    def get_throttles(self):
        # The `top_up` rate limits charges, not reading their history.
        return super().get_throttles() if self.request.method == "POST" else [UserRateThrottle()]

    def get_queryset(self):
        return selectors.top_up_list(student_id=self.request.user.id)

    @extend_schema(
        request=TopUpCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TopUpCreatedSerializer,
            202: OpenApiResponse(
                TopUpCreatedSerializer, description="`processing`: the provider did not answer; it is asked again"
            ),
            400: ErrorSerializer,
            402: OpenApiResponse(ErrorSerializer, description="`card_declined`: a failed top-up is recorded"),
            422: OpenApiResponse(ErrorSerializer, description="`idempotency_key_reused`"),
            503: OpenApiResponse(ErrorSerializer, description="Transient provider failure; retry with the same key"),
        },
    )
    @idempotent(atomic=False)
    def post(self, request):
        data = TopUpCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = self.wallet()
        top_up = services.top_up_create(
            wallet=wallet,
            amount=data.validated_data["amount"],
            payment_method_id=data.validated_data.get("payment_method"),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        if top_up.status == TopUpStatus.FAILED:
            # Answered, not raised: the failed attempt stays recorded.
            return error_response(CardDeclined(f"The top-up failed ({top_up.failure_code})."))
        top_up.transaction = (
            selectors.wallet_transactions(student_id=request.user.id).get(transfer=top_up.transfer_id)
            if top_up.transfer_id
            else None
        )
        code = status.HTTP_201_CREATED if top_up.status == TopUpStatus.SUCCEEDED else status.HTTP_202_ACCEPTED
        return Response(TopUpCreatedSerializer(top_up).data, status=code)


class TopUpDetailView(StudentWalletView, generics.RetrieveAPIView):
    """One of the caller's top-ups; anyone else's is 404."""

    serializer_class = TopUpSerializer
    lookup_url_kwarg = "top_up_id"

    def get_queryset(self):
        return selectors.top_up_list(student_id=self.request.user.id)


class TransactionListView(StudentWalletView, generics.ListAPIView):
    serializer_class = TransactionSerializer

    def get_queryset(self):
        filters = TransactionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        return selectors.wallet_transactions(
            student_id=self.request.user.id,
            kind=values.get("type"),
            created_after=values.get("created_after"),
            created_before=values.get("created_before"),
        )

    @extend_schema(parameters=[TransactionFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TransactionDetailView(StudentWalletView, generics.RetrieveAPIView):
    """One entry of the caller's wallet; anyone else's is 404."""

    serializer_class = TransactionSerializer
    lookup_url_kwarg = "transaction_id"

    def get_queryset(self):
        return selectors.wallet_transactions(student_id=self.request.user.id)
