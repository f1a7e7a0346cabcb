"""Entry point of the hyperpod-platform component plugin (PulumiPlugin.yaml, runtime python).

Pulumi runs ``python <this directory> <engine address> ...`` in the plugin's virtualenv (``venv`` here, with
``requirements.txt`` installed); :func:`hyperpod_platform.provider.main` serves the public components.
"""

from hyperpod_platform.provider import main

if __name__ == "__main__":
    main()
