"""Run the CRNN pipeline on Kubeflow Pipelines or Vertex AI Pipelines: compile, submit, schedule.

    python -m kubeflow.runner compile --output pipeline.yaml [--config CONFIG.json]
        [--set SECTION.KEY=VALUE ...] [--image IMAGE] [--pipeline-root URI] [--data-root URI]
        [--data-pattern 'span-{SPAN}/labels.csv'] [--serving-dir URI] [--beam-arg=ARG ...]
        [--format yaml|vertex]
    python -m kubeflow.runner submit --host URL --package pipeline.yaml [--experiment NAME]
        [--namespace NS] [--pipeline-root URI] [--run-name NAME]
    python -m kubeflow.runner schedule --host URL --package pipeline.yaml --cron '0 0 3 * * *'
        [--experiment NAME] [--job-name NAME]
    ... submit|schedule --vertex --project P --region R --package pipeline.json ...

``compile`` builds the same ``create_pipeline(...)`` as local_runner.py from the same
configuration (its ``kubeflow`` section says where data, artifacts and pushed models live, which
image runs the steps and what resources they get) and writes a KFP v2 PipelineSpec (.yaml, for
kfp.Client) or a Vertex AI PipelineJob (.json). ``submit`` starts one run; ``schedule`` creates a
recurring run (one at a time, no backfill) that retrains on the newest span of data each time.
Credentials come from the environment (kube config, KF_PIPELINES_* variables, Google ADC).

Errors are one line on stderr: exit status 2 for usage and configuration problems, 1 when the
server refuses a request or cannot be reached. kubeflow/README.md has the whole walk-through.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from kubeflow import cron, errors, package
from pipeline.config import add_override_argument

if TYPE_CHECKING:  # kfp and aiplatform load in seconds: only the command that needs one does
    from kubeflow import kfp_client, vertex

DEFAULT_EXPERIMENT = "crnn-tfx"
FORMATS = ("yaml", "vertex")
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _compile_parser(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "compile",
        help="write the pipeline as a KFP PipelineSpec (.yaml) or Vertex PipelineJob (.json)",
        description="Compile create_pipeline(...) with TFX's KubeflowV2DagRunner. Values not "
        "given as flags come from the config's kubeflow section; the pipeline root, data root "
        "and serving directory must be given one way or the other.",
    )
    parser.add_argument("--output", required=True, help="pipeline.yaml or pipeline.json")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="yaml: KFP v2 PipelineSpec for kfp.Client; vertex: Vertex AI PipelineJob JSON "
        "(default: what the --output extension says)",
    )
    parser.add_argument("--config", help="JSON config (default: every key's default)")
    add_override_argument(parser, "kubeflow.trainer.cpu=4")
    parser.add_argument("--image", help="container image of every step (kubeflow.image)")
    parser.add_argument("--pipeline-root", help="artifact root URI, e.g. gs://bucket/crnn")
    parser.add_argument("--data-root", help="URI under which span-N/ folders of data land")
    parser.add_argument(
        "--data-pattern", help="CSV pattern under the data root (default span-{SPAN}/labels.csv)"
    )
    parser.add_argument("--serving-dir", help="URI blessed models are pushed to")
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="Beam pipeline arg appended to pipeline.beam_args (repeatable; write it as "
        "--beam-arg=--runner=DataflowRunner)",
    )


def _backend_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--package", required=True, help="the file `compile` wrote")
    parser.add_argument("--host", help="KFP API URL, e.g. http://localhost:8080 (port-forward)")
    parser.add_argument("--namespace", help="KFP namespace (multi-user deployments)")
    parser.add_argument(
        "--experiment",
        help=f"KFP experiment to file runs under (default {DEFAULT_EXPERIMENT}); with --vertex "
        "and submit, a Vertex AI Experiment to associate the run with",
    )
    parser.add_argument(
        "--pipeline-root", help="artifact root (default: the one the package was compiled with)"
    )
    parser.add_argument("--vertex", action="store_true", help="use Vertex AI instead of KFP")
    parser.add_argument("--project", help="Google Cloud project (with --vertex)")
    parser.add_argument("--region", help="Vertex AI region, e.g. europe-west4 (with --vertex)")
    parser.add_argument("--service-account", help="run-as service account (with --vertex)")


def _submit_parser(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "submit",
        help="start one run of a compiled package",
        description="Start one run on Kubeflow Pipelines (kfp.Client) or, with --vertex, on "
        "Vertex AI Pipelines. Prints the run id.",
    )
    _backend_flags(parser)
    parser.add_argument("--run-name", help="run display name (default: pipeline name + time)")


def _schedule_parser(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "schedule",
        help="create a recurring run of a compiled package (retraining on a schedule)",
        description="Create a recurring run: at most one run at a time, missed runs are not "
        "caught up. Each run ingests the newest span, warm-starts from the latest pushed model "
        "and pushes only a better one.",
    )
    _backend_flags(parser)
    parser.add_argument(
        "--cron",
        required=True,
        help="6 fields, seconds first: '0 0 3 * * *' is 03:00 every day (Vertex: seconds "
        "must be 0)",
    )
    parser.add_argument("--job-name", help="schedule display name (default: <pipeline> retraining)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kubeflow.runner",
        description="Compile, submit and schedule the CRNN TFX pipeline on Kubeflow Pipelines "
        "or Vertex AI Pipelines.",
        epilog="Step by step from a fresh cluster: kubeflow/README.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _compile_parser(commands)
    _submit_parser(commands)
    _schedule_parser(commands)
    return parser.parse_args(argv)


def run_compile(args: argparse.Namespace) -> None:
    from kubeflow import compiler
    from pipeline.config import ConfigError, load_config

    target = compiler.output_target(args.output, args.format)
    try:
        config = load_config(args.config, args.set)
        flags = {
            "image": args.image,
            "pipeline_root": args.pipeline_root,
            "data_root": args.data_root,
            "data_pattern": args.data_pattern,
            "serving_dir": args.serving_dir,
        }
        config = compiler.settle(config, flags, args.beam_arg)
    except ConfigError as err:
        raise errors.UsageError(str(err)) from None
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)  # TFX's deprecation notices say nothing here
    job = compiler.compile_to(config, target)
    steps = ", ".join(sorted(job["pipelineSpec"]["root"]["dag"]["tasks"]))
    print(
        f"wrote {target.output}: {compiler.DESCRIPTION[target.format]} "
        f"{config.pipeline.name} ({steps}) on image {config.kubeflow.image}"
    )


def _pipeline_root(args: argparse.Namespace, compiled: package.Package) -> str:
    root = args.pipeline_root or compiled.pipeline_root
    if not root:
        raise errors.UsageError(f"--package {args.package} names no pipeline root: give one")
    return root


def _vertex_location(args: argparse.Namespace) -> vertex.Location:
    from kubeflow import vertex

    flags = {"--project": args.project, "--region": args.region}
    missing = [flag for flag, value in flags.items() if not value]
    if missing:
        raise errors.UsageError(f"--vertex needs {' and '.join(missing)}")
    return vertex.Location(args.project, args.region, args.service_account)


def _kfp_endpoint(args: argparse.Namespace) -> kfp_client.Endpoint:
    from kubeflow import kfp_client

    if not args.host:
        raise errors.UsageError("--host is required (the KFP API URL), or use --vertex")
    return kfp_client.Endpoint(args.host, args.namespace)


def _submit_vertex(args: argparse.Namespace) -> None:
    from kubeflow import vertex

    compiled = package.for_vertex(args.package)
    location = _vertex_location(args)
    run_name = args.run_name or compiled.name
    root = _pipeline_root(args, compiled)
    name = vertex.submit(location, compiled, root, run_name, args.experiment)
    print(f"submitted Vertex AI pipeline job {name}")


def _submit_kfp(args: argparse.Namespace) -> None:
    from kubeflow import kfp_client

    compiled = package.for_kfp(args.package)
    endpoint = _kfp_endpoint(args)
    run_name = args.run_name or f"{compiled.name} {datetime.now():%Y-%m-%d %H:%M:%S}"
    experiment = args.experiment or DEFAULT_EXPERIMENT
    root = _pipeline_root(args, compiled)
    run_id = kfp_client.submit(endpoint, compiled, experiment, root, run_name)
    print(f"submitted run {run_id} ({run_name!r}) in experiment {experiment!r} at {args.host}")


def _schedule_vertex(args: argparse.Namespace) -> None:
    from kubeflow import vertex

    compiled = package.for_vertex(args.package)
    location = _vertex_location(args)
    job_name = args.job_name or f"{compiled.name} retraining"
    root = _pipeline_root(args, compiled)
    name = vertex.schedule(location, compiled, root, job_name, args.cron)
    print(f"scheduled Vertex AI pipeline {name} on cron {cron.vertex_cron(args.cron)!r}")


def _schedule_kfp(args: argparse.Namespace) -> None:
    from kubeflow import kfp_client

    expression = cron.kfp_cron(args.cron)
    compiled = package.for_kfp(args.package)
    endpoint = _kfp_endpoint(args)
    job_name = args.job_name or f"{compiled.name} retraining"
    experiment = args.experiment or DEFAULT_EXPERIMENT
    root = _pipeline_root(args, compiled)
    recurring_id = kfp_client.schedule(endpoint, compiled, experiment, root, job_name, expression)
    print(
        f"scheduled recurring run {recurring_id} ({job_name!r}) on cron {expression!r}, one run "
        f"at a time, no catch-up, in experiment {experiment!r} at {args.host}"
    )


def run_submit(args: argparse.Namespace) -> None:
    (_submit_vertex if args.vertex else _submit_kfp)(args)


def run_schedule(args: argparse.Namespace) -> None:
    (_schedule_vertex if args.vertex else _schedule_kfp)(args)


COMMANDS = {"compile": run_compile, "submit": run_submit, "schedule": run_schedule}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (errors.UsageError, errors.ServerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
