"""The TFX pipeline: the typed configuration schema and the one create_pipeline() every runner uses.

Importing this package sets the process up for the stack; every other project package imports it
first, so whichever entry point runs, this happens before TensorFlow is imported.
"""

import os
import warnings

# Keras 2 everywhere: tensorflow-transform and TFMA require it, and it must be chosen before
# TensorFlow is first imported.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# google-api-core warns on every import that Python 3.10 is past its support window; TFX 1.16
# requires 3.10 (see README), so the warning says nothing a user can act on.
warnings.filterwarnings(
    "ignore", message="You are using a non-supported Python version", category=FutureWarning
)
