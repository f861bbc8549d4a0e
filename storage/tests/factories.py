"""factory_boy factories for storage: nodes registered through the service, folder and all."""

from pathlib import Path

import factory

from storage import services
from storage.models import StorageNode


class StorageNodeFactory(factory.django.DjangoModelFactory):
    """A local node in `base` (a temporary folder), made by `services.node_register`."""

    class Meta:
        model = StorageNode

    class Params:
        base = Path("/nonexistent")

    name = factory.Sequence(lambda n: f"node-{n:02d}")
    kind = StorageNode.Kind.LOCAL
    path = factory.LazyAttribute(lambda o: str(Path(o.base) / o.name))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.node_register(**kwargs)
