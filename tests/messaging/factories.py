import factory

from messaging.models import Message
from messaging.services import conversation_create
from tests.accounts.factories import StudentFactory


def direct_conversation(a, b):
    conversation, _ = conversation_create(creator=a, participant_ids=[b.id])
    return conversation


def group_conversation(creator, *others, title="Group"):
    conversation, _ = conversation_create(creator=creator, participant_ids=[o.id for o in others], title=title)
    return conversation


class MessageFactory(factory.django.DjangoModelFactory):
    """A stored message that skips the send service (no event, no denormalized last message):
    for bulk history only; tests of behaviour send through `services.message_send`."""

    class Meta:
        model = Message

    sender = factory.SubFactory(StudentFactory)
    body = factory.Sequence(lambda n: f"message {n}")
