"""factory_boy factories for surveys: open by default, with the paper's four options."""

from datetime import timedelta

import factory
from django.utils import timezone

from surveys.models import Option, Survey

PAPER_OPTIONS = [
    ("Lower the cost", False),
    ("Improve efficiency", False),
    ("Strengthen communication", False),
    ("Other", True),
]


class SurveyFactory(factory.django.DjangoModelFactory[Survey]):
    class Meta:
        model = Survey
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Survey {n}")
    question = "What is the main effect of establishing the financial data sharing mechanism?"
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))

    class Params:
        closed = factory.Trait(
            opens_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=30)),
            closes_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1)),
        )
        upcoming = factory.Trait(
            opens_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1)),
            closes_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=30)),
        )

    @factory.post_generation
    def options(obj, create, extracted, **kwargs):
        if not create:
            return
        for position, (label, takes_text) in enumerate(extracted or PAPER_OPTIONS, start=1):
            Option.objects.create(survey=obj, position=position, label=label, takes_text=takes_text)

    @factory.post_generation
    def for_institutions(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.audience = Survey.Audience.INSTITUTIONS
            obj.save(update_fields=["audience"])
            obj.institutions.set(extracted)
