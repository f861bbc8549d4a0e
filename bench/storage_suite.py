"""The `storage` benchmark group: the codec figures, then end-to-end put and open."""

from bench import storage_codec, storage_io


def main() -> None:
    storage_codec.main()
    storage_io.main()


if __name__ == "__main__":
    main()
