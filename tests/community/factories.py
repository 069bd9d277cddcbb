import factory

from community import services
from community.models import Post, PostKind
from tests.accounts.factories import StudentFactory


class PostFactory(factory.django.DjangoModelFactory):
    """Posts made through `services.post_create`, so tag counts and caches stay exact."""

    class Meta:
        model = Post

    author = factory.SubFactory(StudentFactory)
    title = factory.Faker("sentence", nb_words=6)
    body = factory.Faker("paragraph", nb_sentences=4)
    kind = PostKind.DISCUSSION
    tags = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.post_create(**kwargs)


class QuestionFactory(PostFactory):
    kind = PostKind.QUESTION
