"""The serving CLIs' decoding options (``evaluate``, ``predict``, ``report``, ``server``), in
one place.

Importing this module does not import TensorFlow (``serving.model`` is imported when the
options' files are loaded or a recognizer is made), so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from serving import char_lm

ROOT = Path(__file__).resolve().parent.parent
# The model that ships in the repository: make pretrained rebuilds it; models/README.md, its card.
SHIPPED_MODEL = ROOT / "models" / "printed"


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """--model, the shipped model when left out."""
    parser.add_argument(
        "--model",
        default=str(SHIPPED_MODEL),
        help="push directory (its newest version) or SavedModel folder "
        f"(default: the shipped model, {SHIPPED_MODEL.relative_to(ROOT)})",
    )


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


@dataclass(frozen=True)
class Decoding:
    """What the decoding options ask for beyond the exported graph: a lexicon, a language model."""

    lexicon: object | None = None  # a serving.lexicon.Lexicon
    lm: char_lm.CharLM | None = None
    lm_weight: float = char_lm.DEFAULT_WEIGHT
    lm_bonus: float = char_lm.DEFAULT_BONUS

    @property
    def in_graph(self) -> bool:
        """True when the exported decoder's output is used as it is."""
        return self.lm is None and self.lexicon is None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Decoding:
        """The options' files, loaded; ValueError names a file that cannot be read."""
        from serving.model import load_lexicon

        lm = char_lm.CharLM.load(args.lm) if args.lm else None
        return cls(load_lexicon(args.lexicon), lm, args.lm_weight, args.lm_bonus)

    def recognizer(self, model_dir, loaded=None):
        """A ``serving.model.Recognizer`` that decodes this way (``loaded``: see Recognizer)."""
        from serving.model import Recognizer

        return Recognizer(
            model_dir, self.lexicon, self.lm, self.lm_weight, self.lm_bonus, loaded=loaded
        )


def recognizer_from_args(args: argparse.Namespace):
    """The ``serving.model.Recognizer`` the options ask for; ValueError names a file it cannot
    read."""
    return Decoding.from_args(args).recognizer(args.model)
