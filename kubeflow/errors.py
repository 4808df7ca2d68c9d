"""The two ways a kubeflow.runner command fails, each with its exit status.

Both carry one line for stderr: the CLI prints ``error: <message>`` and exits, never a traceback.
"""


class UsageError(Exception):
    """Wrong flags or configuration: something the user fixes on the command line (exit 2)."""

    exit_status = 2


class ServerError(Exception):
    """Kubeflow Pipelines or Vertex AI refused the request or could not be reached (exit 1)."""

    exit_status = 1
