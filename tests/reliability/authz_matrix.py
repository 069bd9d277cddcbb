"""Who may do what to which object, for every /api/v1/ route (by URL name).

A route missing here fails `test_every_route_has_an_entry`: a new endpoint must say who may
call it before it ships. For routes with an object id, every method is either `private`
(another user gets 404 and nothing changes) or `shared` (with the reason another user may act).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from community import services as community
from messaging import services as messaging
from tests.accounts.factories import StudentFactory

ANYONE = frozenset({"student", "tutor", "staff"})


@dataclass
class Entry:
    roles: frozenset = ANYONE  # authenticated roles that may call; others get 403
    public: frozenset = frozenset()  # methods anonymous callers may use
    owner_role: str = "student"
    setup: Callable | None = None  # setup(owner) -> url kwargs of the owner's object
    private: dict = field(default_factory=dict)  # method -> body sent by the intruder
    shared: dict = field(default_factory=dict)  # method -> why another user may act
    own_rows: Callable | None = None  # own_rows(owner) -> ids the owner's list shows, nobody else's


def _post(owner):
    return {"post_id": community.post_create(author=owner, title="Owner's post", body="Body text.").id}


def _question(owner):
    post = community.post_create(author=owner, title="Owner's question", body="Body text.", kind="question")
    return {"post_id": post.id}


def _comment(owner):
    post = community.post_create(author=owner, title="Post", body="Body.")
    comment = community.comment_create(post_id=post.id, author=owner, body="Owner's comment")
    return {"post_id": post.id, "comment_id": comment.id}


def _comment_only(owner):
    return {"comment_id": _comment(owner)["comment_id"]}


def _conversation(owner):
    conversation, _ = messaging.conversation_create(creator=owner, participant_ids=[StudentFactory().id])
    return {"conversation_id": conversation.id}


def _message(owner):
    kwargs = _conversation(owner)
    message, _ = messaging.message_send(sender=owner, conversation_id=kwargs["conversation_id"], body="Owner's message")
    return {**kwargs, "message_id": message.id}


def _conversations_of(owner):
    return {_conversation(owner)["conversation_id"]}


MATRIX: dict[str, Entry] = {
    # --- framework, accounts ---
    "ping": Entry(public=frozenset({"get"})),
    "auth-register": Entry(public=frozenset({"post"})),
    "auth-token": Entry(public=frozenset({"post"})),
    "me": Entry(),
    "tutor-list": Entry(public=frozenset({"get"})),
    # --- community: reads are public, writes need a token; changes are the author's ---
    "community-posts": Entry(public=frozenset({"get"})),
    "community-post": Entry(
        public=frozenset({"get"}),
        setup=_post,
        private={"patch": {"title": "Taken over"}, "delete": None},
        shared={"get": "posts are public"},
    ),
    "community-comments": Entry(
        public=frozenset({"get"}),
        setup=_post,
        shared={"get": "comments are public", "post": "anyone may comment on a post"},
    ),
    "community-comment": Entry(setup=_comment, private={"patch": {"body": "Taken over"}, "delete": None}),
    "community-reaction": Entry(
        setup=_post, shared={"put": "a reaction is the caller's own row", "delete": "removes only the caller's"}
    ),
    "community-accept": Entry(setup=_question, private={"post": {"comment": None}}),
    "community-post-report": Entry(setup=_post, shared={"post": "anyone may report a post"}),
    "community-comment-report": Entry(setup=_comment_only, shared={"post": "anyone may report a comment"}),
    "community-feed": Entry(),
    "community-follows": Entry(),
    "community-tags": Entry(public=frozenset({"get"})),
    # --- messaging: a conversation exists only for its members ---
    "conversation-list": Entry(own_rows=_conversations_of),
    "conversation-unread": Entry(),
    "conversation-detail": Entry(setup=_conversation, private={"get": None}),
    "conversation-leave": Entry(setup=_conversation, private={"post": {}}),
    "conversation-read": Entry(setup=_message, private={"post": {"message_id": 1}}),
    "message-list": Entry(setup=_conversation, private={"get": None, "post": {"body": "intrusion"}}),
    "message-detail": Entry(setup=_message, private={"patch": {"body": "Taken over"}, "delete": None}),
}
