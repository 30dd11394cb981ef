"""A local stand-in for a RajaOngkir-style rate aggregator (SHIPPING_API_URL), run on a
free port: the app's `AggregatorSource` talks to it over real HTTP.

    POST /cost      form: origin, destination, weight (grams), courier ("jne:sicepat")
                    → {"rajaongkir": {"status": {...}, "results": [{"code", "name",
                       "costs": [{"service", "description", "cost": [{"value", "etd",
                       "note"}]}]}]}}
    POST /waybill   form: waybill, courier
                    → {"rajaongkir": {"status": {...}, "result": {"delivered", "summary",
                       "manifest": [{"manifest_code", "manifest_description",
                       "manifest_date", "manifest_time", "city_name"}]}}}

Without the right `key` header it answers 400 like RajaOngkir ("Invalid key"). `mode`
makes it misbehave: "slow" (sleeps past the client's timeout), "garbage" (not JSON),
"wrong_shape" (JSON without the expected keys), "error" (HTTP 500).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.live import serving_thread

PRICES = {("jne", "REG"): (11_000, "2-3"), ("jne", "YES"): (19_000, "1-1"),
          ("sicepat", "REG"): (10_500, "2-3"), ("sicepat", "BEST"): (17_000, "1"),
          ("jnt", "EZ"): (11_500, "2-4"), ("anteraja", "REG"): (10_000, "3-4")}
NAMES = {"jne": "Jalur Nugraha Ekakurir (JNE)", "sicepat": "SiCepat Express",
         "jnt": "J&T Express", "anteraja": "AnterAja"}


class FakeAggregator:
    def __init__(self, key: str = "fake-key") -> None:
        self.key = key
        self.mode = "ok"
        self.slow_seconds = 2.0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.manifest: list[dict[str, str]] = [
            {"manifest_code": "1", "manifest_description": "Manifested",
             "manifest_date": "2026-12-07", "manifest_time": "09:15", "city_name": "BANDUNG"},
            {"manifest_code": "2", "manifest_description": "On Transit",
             "manifest_date": "2026-12-07", "manifest_time": "21:40", "city_name": "JAKARTA"},
        ]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: bytes,
                        content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, payload: dict) -> None:
                self._answer(status, json.dumps(payload).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                fake.requests.append((self.path, form))
                if self.headers.get("key") != fake.key:
                    self._json(400, {"rajaongkir": {"status": {
                        "code": 400, "description": "Invalid key."}}})
                    return
                if fake.mode == "slow":
                    time.sleep(fake.slow_seconds)
                if fake.mode == "error":
                    self._json(500, {"error": "internal"})
                    return
                if fake.mode == "garbage":
                    self._answer(200, b"<html>maintenance</html>", "text/html")
                    return
                if fake.mode == "wrong_shape":
                    self._json(200, {"rajaongkir": {"status": {"code": 200},
                                                    "results": [{"code": "jne"}]}})
                    return
                if self.path == "/cost":
                    self._json(200, fake.cost_answer(form))
                elif self.path == "/waybill":
                    self._json(200, fake.waybill_answer(form))
                else:
                    self._json(404, {"rajaongkir": {"status": {"code": 404}}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = serving_thread(self.server)

    def cost_answer(self, form: dict[str, str]) -> dict:
        kg = max(1, -(-int(form.get("weight") or 1) // 1000))
        results = []
        for code in form.get("courier", "").split(":"):
            costs = [{"service": service, "description": f"{service} service",
                      "cost": [{"value": price * kg, "etd": etd, "note": ""}]}
                     for (courier, service), (price, etd) in PRICES.items() if courier == code]
            results.append({"code": code, "name": NAMES.get(code, code), "costs": costs})
        return {"rajaongkir": {
            "query": form, "status": {"code": 200, "description": "OK"},
            "origin_details": {"city_name": form.get("origin")},
            "destination_details": {"city_name": form.get("destination")},
            "results": results}}

    def waybill_answer(self, form: dict[str, str]) -> dict:
        return {"rajaongkir": {
            "query": form, "status": {"code": 200, "description": "OK"},
            "result": {"delivered": False, "summary": {
                "courier_code": form.get("courier"), "waybill_number": form.get("waybill"),
                "status": "ON PROCESS"}, "manifest": self.manifest}}}

    def __enter__(self) -> FakeAggregator:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
