"""The serving CLIs' decoding options (``evaluate``, ``predict``, ``report``, ``server``), in
one place.

Importing this module does not import TensorFlow (``serving.model`` is imported when a
recognizer is made).
"""

from __future__ import annotations

import argparse

from serving import char_lm


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    """--lexicon, --lm, --lm-weight, --lm-bonus."""
    parser.add_argument(
        "--lexicon", help="word list (one per line): correct predictions to its nearest entries"
    )
    parser.add_argument(
        "--lm",
        help="character n-gram language model (ARPA; python -m serving.char_lm makes one): "
        "decode by beam search with it",
    )
    parser.add_argument(
        "--lm-weight",
        type=float,
        default=char_lm.DEFAULT_WEIGHT,
        help=f"language model weight with --lm (default {char_lm.DEFAULT_WEIGHT})",
    )
    parser.add_argument(
        "--lm-bonus",
        type=float,
        default=char_lm.DEFAULT_BONUS,
        help=f"score bonus per character with --lm (default {char_lm.DEFAULT_BONUS})",
    )


def recognizer_from_args(args: argparse.Namespace):
    """The ``serving.model.Recognizer`` the options ask for; ValueError names a file it cannot
    read."""
    from serving.model import Recognizer, load_lexicon

    lm = char_lm.CharLM.load(args.lm) if args.lm else None
    return Recognizer(args.model, load_lexicon(args.lexicon), lm, args.lm_weight, args.lm_bonus)
