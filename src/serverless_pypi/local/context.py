"""A stand-in for the Lambda context object the handlers receive."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True, slots=True)
class LocalContext:
    """The attributes of ``LambdaContext`` that handlers read, with a real deadline."""

    function_name: str
    timeout_ms: int = 30_000
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = 0.0
    function_version: str = "$LATEST"
    memory_limit_in_mb: str = "512"

    def __post_init__(self) -> None:
        if not self.deadline:
            object.__setattr__(self, "deadline", time.monotonic() + self.timeout_ms / 1000)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))
