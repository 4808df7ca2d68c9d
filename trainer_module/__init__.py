"""The CRNN: alphabet, image geometry, augmentation, network, CTC, decoding, CER, export."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, before anything imports TensorFlow)
