"""`python -m sandbox serve`: both emulators and the token endpoint on loopback, in one process.

Once every server accepts connections, one `name: value` line per URL is printed, e.g.

    business_central: http://127.0.0.1:8081/v2.0/<tenant>/production/api/v2.0
    dataverse: http://127.0.0.1:8082/api/data/v9.2
    token_authority: http://127.0.0.1:8083/<tenant>

Port 0 picks a free port (the printed URL has the real one). Ctrl-C or SIGTERM stops cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from sandbox.server import (
    BUSINESS_CENTRAL_SCOPE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    AuthSettings,
    BusinessCentralLimits,
    DataverseLimits,
    FaultSettings,
    LoopbackServers,
    SandboxSettings,
    ServedApp,
    build_apps,
    business_central_url,
    dataverse_url,
    token_authority_url,
)

_ON = argparse.BooleanOptionalAction


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Local Business Central and Dataverse emulators."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve both emulators and the token endpoint")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--bc-port", type=int, default=8081, help="0 picks a free port")
    serve.add_argument("--dataverse-port", type=int, default=8082, help="0 picks a free port")
    serve.add_argument("--token-port", type=int, default=8083, help="0 picks a free port")
    serve.add_argument(
        "--token-tls",
        action="store_true",
        help="serve the token endpoint over https with a throwaway CA (msal "
        "needs https); the CA file is printed as tls_ca",
    )
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--records", type=int, default=1000, help="records per table")
    serve.add_argument("--tenant", default=SandboxSettings().tenant_id)
    serve.add_argument("--environment", default="production")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="server time per request")
    serve.add_argument(
        "--record-cost-ms", type=float, default=0.0, help="server time per record written"
    )
    serve.add_argument("--bc-stale-etag-status", type=int, choices=(409, 412), default=409)
    serve.add_argument("--log-level", default="warning")
    _add_protection_options(serve)
    _add_fault_and_auth_options(serve)
    return parser


def _add_protection_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--protection", action=_ON, default=True, help="service-protection limits (429s)"
    )
    serve.add_argument("--dv-max-requests", type=int, default=6000)
    serve.add_argument("--dv-max-execution-ms", type=int, default=1_200_000)
    serve.add_argument("--dv-max-concurrent", type=int, default=52)
    serve.add_argument("--dv-window-seconds", type=float, default=300)
    serve.add_argument("--dop-hint", type=int, default=4, help="x-ms-dop-hint value")
    serve.add_argument("--bc-max-requests", type=int, default=6000)
    serve.add_argument("--bc-max-concurrent", type=int, default=5)
    serve.add_argument("--bc-max-queue", type=int, default=95)
    serve.add_argument("--bc-window-seconds", type=float, default=300)
    serve.add_argument(
        "--bc-retry-after",
        action=_ON,
        default=True,
        help="Retry-After on BC 429s (unconfirmed in the real service)",
    )


def _add_fault_and_auth_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--error-rate", type=float, default=0.0, help="share answered 503/502")
    serve.add_argument("--timeout-rate", type=float, default=0.0, help="share timing out")
    serve.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    serve.add_argument("--timeout-seconds", type=float, default=30.0)
    serve.add_argument(
        "--timeout-mode", choices=("gateway_timeout", "hang"), default="gateway_timeout"
    )
    serve.add_argument("--auth", action=_ON, default=True, help="require bearer tokens")
    serve.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    serve.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)


def _settings_from(args: argparse.Namespace) -> SandboxSettings:
    return SandboxSettings(
        seed=args.seed,
        records=args.records,
        tenant_id=args.tenant,
        environment=args.environment,
        latency_ms=args.latency_ms,
        record_cost_ms=args.record_cost_ms,
        protection=args.protection,
        bc_stale_etag_status=args.bc_stale_etag_status,
        dataverse_limits=DataverseLimits(
            max_requests=args.dv_max_requests,
            max_execution_ms=args.dv_max_execution_ms,
            max_concurrent=args.dv_max_concurrent,
            window_seconds=args.dv_window_seconds,
            dop_hint=args.dop_hint,
        ),
        business_central_limits=BusinessCentralLimits(
            max_requests=args.bc_max_requests,
            max_concurrent=args.bc_max_concurrent,
            max_queue=args.bc_max_queue,
            window_seconds=args.bc_window_seconds,
            retry_after_on_429=args.bc_retry_after,
        ),
        faults=FaultSettings(
            error_rate=args.error_rate,
            timeout_rate=args.timeout_rate,
            drop_rate=args.drop_rate,
            timeout_seconds=args.timeout_seconds,
            timeout_mode=args.timeout_mode,
        ),
        auth=AuthSettings(enabled=args.auth, clients={args.client_id: args.client_secret}),
    )


@contextlib.contextmanager
def _throwaway_tls(enabled: bool) -> Iterator[tuple[str, str] | None]:
    """Yield (CA file, server cert+key file) for 127.0.0.1/localhost, deleted afterwards."""
    if not enabled:
        yield None
        return
    import trustme  # noqa: PLC0415 - a test dependency, needed only with --token-tls

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost", "::1")
    with tempfile.TemporaryDirectory(prefix="sandbox-tls-") as folder:
        ca_file, server_file = Path(folder, "ca.pem"), Path(folder, "server.pem")
        authority.cert_pem.write_to_path(str(ca_file))
        certificate.private_key_and_cert_chain_pem.write_to_path(str(server_file))
        yield str(ca_file), str(server_file)


async def _serve(args: argparse.Namespace, settings: SandboxSettings) -> int:
    try:
        apps = build_apps(settings)
    except ImportError as error:
        print(f"sandbox: an emulator app cannot be loaded: {error}", file=sys.stderr)
        return 1
    with _throwaway_tls(args.token_tls) as tls:
        servers = LoopbackServers(
            {
                "business_central": ServedApp(apps.business_central, args.bc_port),
                "dataverse": ServedApp(apps.dataverse, args.dataverse_port),
                "token": ServedApp(apps.token, args.token_port, certfile=tls[1] if tls else None),
            },
            host=args.host,
            log_level=args.log_level,
        )
        ports = await servers.start()
        _print_urls(args, settings, ports, ca_file=tls[0] if tls else None)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stopping.set)
        await stopping.wait()
        await servers.stop()
    print("sandbox stopped", flush=True)
    return 0


def _print_urls(
    args: argparse.Namespace,
    settings: SandboxSettings,
    ports: dict[str, int],
    *,
    ca_file: str | None,
) -> None:
    host, bc_port, dv_port = args.host, ports["business_central"], ports["dataverse"]
    lines = {
        "business_central": business_central_url(host, bc_port, settings),
        "dataverse": dataverse_url(host, dv_port),
        "token_authority": token_authority_url(
            host, ports["token"], settings, tls=ca_file is not None
        ),
        "business_central_scope": BUSINESS_CENTRAL_SCOPE,
        "dataverse_scope": f"http://{host}:{dv_port}/.default",
        "client_id": args.client_id,
        "counters": f"http://{host}:{bc_port}/_sandbox/counters "
        f"http://{host}:{dv_port}/_sandbox/counters",
    }
    if ca_file is not None:
        lines["tls_ca"] = ca_file
    for name, value in lines.items():
        print(f"{name}: {value}", flush=True)
    print("ready (Ctrl-C stops)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings_from(args)
    except ValidationError as error:
        parser.error(str(error))
    return asyncio.run(_serve(args, settings))


if __name__ == "__main__":
    sys.exit(main())
