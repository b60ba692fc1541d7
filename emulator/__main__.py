"""``python -m emulator`` runs the ``gpuemu`` command line."""

from emulator.cli import main

main()
