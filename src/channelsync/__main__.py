"""``python -m channelsync``: the same as the ``channelsync`` command."""

from channelsync.cli import main

if __name__ == "__main__":
    main()
