"""`rag serve`: the HTTP API (rag/app/api) under uvicorn."""

from __future__ import annotations

import os

import click

from ..config import load_settings
from .cli_ui import _settings_env, check_bind_address


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe; mặc định chỉ máy này. Địa chỉ khác cần có tài khoản quản trị "
                   "(rag user add TÊN --role admin); nên đặt sau một reverse proxy có TLS.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="Cổng (8000 là cổng mặc định của máy chủ mô hình cục bộ).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Số tiến trình; mỗi tiến trình nạp mô hình và chỉ mục một lần (~0,5–1,5 GB RAM).")
@click.option("--root-path", default="", help="Tiền tố đường dẫn khi đứng sau reverse proxy, ví dụ /hoi-dap.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, root_path: str) -> None:
    """Chạy API HTTP: hỏi đáp, tài liệu, chuẩn OpenAI (/v1/chat/completions), /healthz, /metrics.

    Tài liệu API (OpenAPI) ở http://HOST:PORT/docs.

    \b
    Ví dụ:
      rag serve                          # http://127.0.0.1:8080
      rag serve --port 9000 --workers 2
      curl -s localhost:8080/api/ask -H 'Content-Type: application/json' \\
           -d '{"question": "Lào Cai tích hợp bao nhiêu dịch vụ công?"}'
    """
    import uvicorn

    check_bind_address(load_settings(**{k: v for k, v in (ctx.obj or {}).items() if k != "show_progress"}), host)
    # the workers build their app from RAG_* (uvicorn's factory), so the global options go there
    os.environ.update(_settings_env(ctx))
    click.echo(f"API: http://{host}:{port}  (tài liệu / docs: http://{host}:{port}/docs; Ctrl+C để dừng)", err=True)
    uvicorn.run("rag.app.api:create_app", factory=True, host=host, port=port, workers=workers,
                root_path=root_path, log_level="info", access_log=False)
