"""The TFX pipeline: the typed configuration schema and the one create_pipeline() every runner uses.

Importing this package sets the process up for the stack; every other project package imports it
first, so whichever entry point runs, this happens before TensorFlow is imported.
"""

import os
import warnings

# Keras 2 everywhere: tensorflow-transform and TFMA require it, and it must be chosen before
# TensorFlow is first imported.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# TensorFlow's C++ start-up chatter (CUDA factory registration, CPU features, TensorRT) buries
# progress lines, and real failures surface as Python exceptions. TF_CPP_MIN_LOG_LEVEL=0 brings
# it back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Google's client libraries warn on import about Python 3.10 and about versions of their own
# dependencies; TFX 1.16 fixes both (see README), so the warnings say nothing a user can act on.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google(\.|$)")
