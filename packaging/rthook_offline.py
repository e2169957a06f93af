"""Runtime hook run before the app's code in the bundle: nothing may reach for the network.

The models ship inside the bundle; these settings stop the Hugging Face libraries from looking
for updates and chromadb from sending usage statistics. Progress bars are off because a windowed
program (Windows, macOS) has no stderr to draw them on.
"""

import os

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TRANSFORMERS_VERBOSITY", "error"),
    ("ANONYMIZED_TELEMETRY", "False"),
):
    os.environ.setdefault(_name, _value)
