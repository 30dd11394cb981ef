"""The production reverse proxy (docker/nginx.conf) in front of a live test server.

`nginx_start(upstream=live_url, directory=tmp)` runs Debian's nginx as a child process
with its own prefix directory: the repository's docker/nginx.conf goes inside an `http {}`
block as docker-compose mounts it, with only what cannot work outside Docker rewritten —
every upstream `server` points at the live server, Docker's `resolver` line and the
`resolve` server parameter (nginx >= 1.27.3; Debian has 1.22) are dropped, each `listen`
port becomes a free port of 127.0.0.1 (IPv6 listens are dropped), logs and temporary files
go to the prefix, certificate paths point at a self-signed pair made for the test, the
template variable ${HTTPS_PORT} (the official image substitutes it) becomes the loopback
port of the `listen 443` server, the page cache's proxy_cache_path goes under the prefix,
and the static alias points at the repository's
app/static (the image copies it to /srv/static). Everything else — locations, headers,
`proxy_pass` — is the file as shipped, so a test sees what production's proxy forwards.

Stop it with `Nginx.stop()` (a fixture's finalizer): nginx never outlives the test run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
PRODUCTION_CONFIG = REPO / "docker" / "nginx.conf"


def nginx_binary() -> str | None:
    """Debian's nginx (`/usr/sbin` is not on every user's PATH), or None."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_COMMENT = re.compile(r"(?:^|(?<=\s))#[^\n]*", re.MULTILINE)
_RESOLVER = re.compile(r"^\s*resolver\s[^;]*;[^\n]*\n?", re.MULTILINE)
# An upstream's `server address params;` (not a `server {` block).
_UPSTREAM_SERVER = re.compile(r"^(\s*)server\s+(?!\{)(\S+)([^;{]*);", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen\s+(\S+)([^;]*);", re.MULTILINE)
_CERTIFICATE = re.compile(r"^(\s*)(ssl_certificate(?:_key)?)\s+[^;]+;", re.MULTILINE)
_STATIC_ALIAS = re.compile(r"^(\s*)alias\s+/srv/static/;", re.MULTILINE)
_CACHE_PATH = re.compile(r"^(\s*)proxy_cache_path\s+/var/cache/nginx/(\S+)", re.MULTILINE)
_LOG = re.compile(r"^(\s*)(access_log|error_log)\s+(?!off\b)\S+([^;]*);", re.MULTILINE)


def nginx_config_rewrite(source: str, *, upstream: str | list[str], ports: dict[int, int],
                         directory: Path) -> str:
    """`source` (the content of docker/nginx.conf) made runnable on this machine: see the
    module's docstring. `upstream` is one host:port or several (then each upstream `server`
    line becomes one line per address, with the same parameters: the production topology's
    two web nodes). `ports` is filled with config port → loopback port."""
    text = _COMMENT.sub("", source)
    text = _RESOLVER.sub("", text)
    upstreams = [upstream] if isinstance(upstream, str) else list(upstream)

    def upstream_server(match: re.Match) -> str:
        params = " ".join(word for word in match.group(3).split() if word != "resolve")
        return "\n".join(f"{match.group(1)}server {address} {params};".replace(" ;", ";")
                         for address in upstreams)

    text = _UPSTREAM_SERVER.sub(upstream_server, text)

    def listen(match: re.Match) -> str:
        address = match.group(2)
        if address.startswith("["):  # IPv6: not every test machine has it
            return ""
        port = int(address.rsplit(":", 1)[-1]) if address[-1].isdigit() else 80
        loopback = ports.setdefault(port, _free_port())
        return f"{match.group(1)}listen 127.0.0.1:{loopback}{match.group(3)};"

    text = _LISTEN.sub(listen, text)
    if 443 in ports:
        text = text.replace("${HTTPS_PORT}", str(ports[443]))
    text = _STATIC_ALIAS.sub(lambda m: f"{m.group(1)}alias {REPO / 'app' / 'static'}/;", text)
    if _CERTIFICATE.search(text):
        certificate, key = _self_signed(directory)
        text = _CERTIFICATE.sub(
            lambda m: f"{m.group(1)}{m.group(2)} "
                      f"{key if m.group(2).endswith('_key') else certificate};", text)
    # The page cache goes to the prefix too (the image has /var/cache/nginx).
    text = _CACHE_PATH.sub(lambda m: f"{m.group(1)}proxy_cache_path {directory / 'cache'}/"
                                     f"{m.group(2)}", text)
    return _LOG.sub(lambda m: f"{m.group(1)}{m.group(2)} {directory / 'logs' / m.group(2)}"
                              f".log{m.group(3)};", text)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (for a TLS server in the config)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    certificate_path, key_path = directory / "test.crt", directory / "test.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return certificate_path, key_path


@dataclass
class Nginx:
    process: subprocess.Popen
    directory: Path
    ports: dict[int, int] = field(default_factory=dict)  # config port → loopback port

    def url(self, port: int = 443) -> str:
        """The base URL of the server the config has listening on `port` (https for 443)."""
        scheme = "https" if port == 443 else "http"
        return f"{scheme}://127.0.0.1:{self.ports[port]}"

    def error_log(self) -> str:
        path = self.directory / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def nginx_start(*, upstream: str | list[str], directory: Path, binary: str,
                config: Path = PRODUCTION_CONFIG, timeout: float = 15,
                worker_connections: int = 128, ports: dict[int, int] | None = None) -> Nginx:
    """Start nginx with `config` in front of `upstream` (a base URL such as
    http://127.0.0.1:5123, or several) and wait until every listening port accepts
    connections. `ports` may name loopback ports for some config ports beforehand (config
    port → loopback port; the others get free ones). Raises RuntimeError (with nginx's error
    log) if it does not come up."""
    bases = [upstream] if isinstance(upstream, str) else upstream
    addresses = [f"{urlsplit(base).hostname}:{urlsplit(base).port}" for base in bases]
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    (directory / "cache").mkdir(exist_ok=True)  # the page cache's proxy_cache_path
    directory.chmod(0o755)  # worker processes (another user under root) write temp files
    ports = dict(ports or {})
    content = nginx_config_rewrite(config.read_text(), upstream=addresses, ports=ports,
                                   directory=directory)
    temp = {name: directory / name for name in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                "scgi")}
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\n{user}pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'logs' / 'error.log'} info;\n"
        f"events {{ worker_connections {worker_connections}; }}\n"
        "http {\n"
        # As the official image's nginx.conf: file types for what nginx serves itself.
        + ("    include /etc/nginx/mime.types;\n" if Path("/etc/nginx/mime.types").exists()
           else "")
        + "    default_type application/octet-stream;\n"
        f"    access_log {directory / 'logs' / 'access.log'};\n"
        + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
        + content + "\n}\n")
    if not ports:
        raise RuntimeError(f"{config} has no `listen` directive to rewrite")
    with (directory / "logs" / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [binary, "-p", f"{directory}/", "-c", str(directory / "nginx.conf"),
             "-e", str(directory / "logs" / "error.log")],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    nginx = Nginx(process=process, directory=directory, ports=ports)
    deadline = time.monotonic() + timeout
    waiting = set(ports.values())
    while waiting:
        if process.poll() is not None or time.monotonic() > deadline:
            nginx.stop()
            output = (directory / "logs" / "stderr.log").read_text(errors="replace")
            raise RuntimeError(f"nginx did not start: {output}\n{nginx.error_log()}")
        for port in list(waiting):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                waiting.discard(port)
            except OSError:
                pass
        time.sleep(0.05)
    return nginx
