"""Server start/stop: no leaked threads or ports."""

from __future__ import annotations

import socket
import threading

import requests

from syncer.sandbox import SandboxServer


def test_stop_frees_threads_and_port() -> None:
    """After stop, the serving and connection threads are gone and the port can be rebound."""
    before = {t.ident for t in threading.enumerate()}
    with SandboxServer() as server:
        session = requests.Session()  # keep-alive connection held open across stop
        response = session.get(f"{server.url}/v4/spreadsheets/x", timeout=10)
        assert response.status_code == 401
        port = server.port
    session.close()
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    for thread in leftover:
        thread.join(timeout=5)
    assert [t for t in leftover if t.is_alive()] == []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_start_and_stop_are_idempotent() -> None:
    """start() twice serves once; stop() twice is harmless; unknown paths answer 404 JSON."""
    server = SandboxServer()
    server.start()
    server.start()
    try:
        response = requests.get(f"{server.url}/nowhere", timeout=10)
        assert response.status_code == 404
        assert response.json()["error"]["status"] == "NOT_FOUND"
    finally:
        server.stop()
        server.stop()


def test_concurrent_clients_are_serialised_consistently() -> None:
    """Writes from several threads at once all land; the Drive version counts each one."""
    from concurrent.futures import ThreadPoolExecutor

    from .conftest import ROBOT, client_for

    with SandboxServer() as server:
        sid = server.create_spreadsheet("c", ROBOT)
        clients = [client_for(server).http_client for _ in range(4)]
        version = server.drive_version(sid)

        def write(i: int) -> None:
            clients[i % 4].values_update(sid, f"Sheet1!A{i + 1}",
                                         params={"valueInputOption": "RAW"},
                                         body={"values": [[i]]})

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(write, range(40)))
        assert [row[0] for row in server.values(sid, "Sheet1")] == list(range(40))
        assert server.drive_version(sid) == version + 40
