"""A Pusher executor whose pushes appear all at once under the serving directory.

TFX's filesystem Pusher copies file by file into ``<base>/<unix time>/`` (saved_model.pb last)
and silently skips a push when two land in the same second. This one writes the model into a
hidden, non-numeric staging folder (ignored by TF Serving and by this project's server) and
renames it to the next free version number, so a reader sees either no new version or a whole
one. On object stores without atomic rename the copy still puts saved_model.pb last.

Pushing is idempotent: a model identical to the newest version (same SavedModel fingerprint) is
not pushed again as a new version (a re-run re-blesses the cached model against itself).
"""

from __future__ import annotations

import logging
import os

from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs as specs
from tfx.utils import io_utils, proto_utils

from components import serving_layout

log = logging.getLogger(__name__)


FINGERPRINT = "fingerprint.pb"


def same_model(model_dir: str, version_dir: str) -> bool:
    """Whether two SavedModels are the same export (TF writes a fingerprint of graph and
    weights beside every SavedModel)."""
    paths = [os.path.join(model_dir, FINGERPRINT), os.path.join(version_dir, FINGERPRINT)]
    if not all(fileio.exists(path) for path in paths):
        return False
    first, second = (fileio.open(path, "rb").read() for path in paths)
    return first == second


def push_atomically(model_dir: str, serving_dir: str) -> tuple[str, str]:
    """Copy a SavedModel to ``<serving_dir>/<next version>``; returns (path, version)."""
    fileio.makedirs(serving_dir)
    version = str(serving_layout.next_version(serving_dir))
    staging = os.path.join(serving_dir, f".incoming-{version}")
    io_utils.copy_dir(model_dir, staging, deny_regex_patterns=[r"saved_model\.pb"])
    io_utils.copy_file(
        os.path.join(model_dir, serving_layout.SAVED_MODEL),
        os.path.join(staging, serving_layout.SAVED_MODEL),
    )
    destination = os.path.join(serving_dir, version)
    fileio.rename(staging, destination)
    return destination, version


class Executor(pusher_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        pushed = artifact_utils.get_single_instance(output_dict[specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed)
            log.info("model not blessed: not pushed")
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError("this Pusher pushes to a filesystem destination only")
        model_dir = self.GetModelPath(input_dict)
        serving_dir = destination.filesystem.base_directory
        newest = serving_layout.newest(serving_dir)
        if newest and same_model(model_dir, newest):
            path, version = newest, os.path.basename(newest)
            log.info("model already serving as version %s: not pushed again", version)
        else:
            path, version = push_atomically(model_dir, serving_dir)
            log.info("pushed model version %s to %s", version, path)
        io_utils.copy_dir(model_dir, pushed.uri)  # TFX keeps a copy with the artifact
        self._MarkPushed(pushed, pushed_destination=path, pushed_version=version)
