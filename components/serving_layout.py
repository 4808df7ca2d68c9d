"""The serving directory: TF Serving's layout of numbered version folders.

``<serving_dir>/<version>/saved_model.pb ...``. A version is complete once its saved_model.pb
exists (TF Serving's own rule); the atomic Pusher also renames a fully written folder into place,
so readers never see half a model. Pusher, the baseline lookup and every serving tool read the
layout through this module.
"""

from __future__ import annotations

import os
import time

import tensorflow as tf

SAVED_MODEL = "saved_model.pb"


def is_saved_model(path: str) -> bool:
    return tf.io.gfile.exists(os.path.join(path, SAVED_MODEL))


def versions(serving_dir: str) -> list[int]:
    """Complete versions, oldest first."""
    if not tf.io.gfile.isdir(serving_dir):
        return []
    found = []
    for name in tf.io.gfile.listdir(serving_dir):
        name = name.rstrip("/")
        if name.isdigit() and is_saved_model(os.path.join(serving_dir, name)):
            found.append(int(name))
    return sorted(found)


def version_of(model_dir: str) -> int | None:
    """The version number a version folder is named by, or None (a SavedModel elsewhere)."""
    name = model_dir.rstrip("/").rsplit("/", 1)[-1]
    return int(name) if name.isdigit() else None


def newest(serving_dir: str) -> str | None:
    """The newest complete version folder, or None."""
    found = versions(serving_dir)
    return os.path.join(serving_dir, str(found[-1])) if found else None


def resolve_model_dir(path: str) -> str:
    """A SavedModel folder itself, or the newest version under a versioned push directory."""
    if is_saved_model(path):
        return path
    latest = newest(path)
    if latest is None:
        raise FileNotFoundError(f"{path}: neither a SavedModel nor a folder of numbered versions")
    return latest


def next_version(serving_dir: str) -> int:
    """The Unix time, or one more than the newest existing version if that is not later (two
    pushes in the same second must not collide)."""
    existing = [
        int(name.rstrip("/"))
        for name in (tf.io.gfile.listdir(serving_dir) if tf.io.gfile.isdir(serving_dir) else [])
        if name.rstrip("/").isdigit()
    ]
    return max([int(time.time()), *(v + 1 for v in existing)])


def state(serving_dir: str) -> str:
    """A short fingerprint of what is pushed (for cache keys): the version list."""
    return ",".join(map(str, versions(serving_dir))) or "empty"
