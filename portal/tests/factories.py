"""factory_boy factories for the consortium: institutions, people and roles."""

import factory
from django.contrib.auth import get_user_model

from consortium.lei import lei_with_check_digits
from consortium.models import ConsortiumRole, Institution, Membership

PASSWORD = "correct-horse-battery"


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Institution {n}")
    slug = factory.Sequence(lambda n: f"institution-{n}")
    kind = Institution.Kind.BANK
    lei = factory.Sequence(lambda n: lei_with_check_digits(f"TEST00{n:012d}"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    role = Membership.Role.STAFF

    class Params:
        steward = factory.Trait(role=Membership.Role.STEWARD)


class ConsortiumRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsortiumRole

    user = factory.SubFactory(UserFactory)
    role = ConsortiumRole.Role.MODERATOR
