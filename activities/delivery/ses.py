"""Amazon SES v2 SendEmail (`POST /v2/email/outbound-emails`) with the raw message, so our DKIM signature and
headers reach the recipient untouched; signed with SigV4 (service "ses")."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.utils import parseaddr

import httpx

from activities.delivery.errors import PermanentDeliveryError, ProviderConfigurationError, TransientDeliveryError
from activities.delivery.http_errors import ErrorDetail, ErrorKind, json_body, send_request, unreadable_acceptance
from activities.delivery.sigv4 import AwsCredentials, sign
from domain.delivery.outbound import Acceptance, OutboundEmail
from domain.delivery.providers import SesProviderConfig

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
MESSAGE_LOG_TAG = "message_log_id"
_NOT_VERIFIED = "not verified"

# SendEmail's documented errors, and the AWS front end's, by the class they belong to.
_ERROR_KINDS: dict[str, ErrorKind] = {
    "MessageRejected": PermanentDeliveryError,
    "BadRequestException": PermanentDeliveryError,
    "MailFromDomainNotVerifiedException": ProviderConfigurationError,
    "AccountSuspendedException": ProviderConfigurationError,
    "SendingPausedException": ProviderConfigurationError,
    "NotFoundException": ProviderConfigurationError,
    "IncompleteSignatureException": ProviderConfigurationError,
    "InvalidSignatureException": ProviderConfigurationError,
    "SignatureDoesNotMatch": ProviderConfigurationError,
    "UnrecognizedClientException": ProviderConfigurationError,
    "ExpiredTokenException": ProviderConfigurationError,
    "AccessDeniedException": ProviderConfigurationError,
    "TooManyRequestsException": TransientDeliveryError,
    "LimitExceededException": TransientDeliveryError,
    "ThrottlingException": TransientDeliveryError,
}


def read_ses_error(response: httpx.Response) -> ErrorDetail:
    """REST-JSON errors name their type in `X-Amzn-ErrorType` ("Type:namespace") or the body's `__type`
    ("namespace#Type") or `code`; the text is in `message`."""
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    code = (
        response.headers.get("x-amzn-errortype", "").split(":")[0]
        or str(body.get("__type", "")).rpartition("#")[2]
        or str(body.get("code") or body.get("Code") or "")
    )
    message = str(body.get("message") or body.get("Message") or response.text[:300] or response.reason_phrase)
    kind = _ERROR_KINDS.get(code)
    if code == "MessageRejected" and _NOT_VERIFIED in message.lower():
        # "Email address is not verified": our sender identity (or, in the sandbox, the recipient) is not set up
        # in this SES account. Another provider may send it, so the chain moves on.
        kind = ProviderConfigurationError
    return ErrorDetail(message=message, code=code or None, kind=kind)


class SesProvider:
    def __init__(self, config: SesProviderConfig, http: httpx.AsyncClient, *, name: str = "ses") -> None:
        self.name = name
        self._config = config
        self._http = http
        self._credentials = AwsCredentials(config.access_key_id, config.secret_access_key, config.session_token)
        endpoint = config.endpoint_url or f"https://email.{config.region}.amazonaws.com"
        self._url = endpoint.rstrip("/") + SEND_EMAIL_PATH

    def request_body(self, message: OutboundEmail) -> dict[str, object]:
        body: dict[str, object] = {
            "FromEmailAddress": parseaddr(message.sender)[1] or message.sender,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {"Raw": {"Data": base64.b64encode(message.raw).decode()}},
            "EmailTags": [{"Name": MESSAGE_LOG_TAG, "Value": message.message_log_id}],
        }
        if self._config.configuration_set_name:
            body["ConfigurationSetName"] = self._config.configuration_set_name
        return body

    async def send_email(self, message: OutboundEmail) -> Acceptance:
        content = json.dumps(self.request_body(message)).encode()
        request = self._http.build_request(
            "POST", self._url, content=content, headers={"Content-Type": "application/json"}
        )
        signed = sign(
            method="POST",
            url=str(request.url),
            headers={"Host": request.headers["Host"], "Content-Type": "application/json"},
            body=content,
            credentials=self._credentials,
            region=self._config.region,
            service="ses",
            now=datetime.now(UTC),
        )
        request.headers.update(signed.headers)
        response = await send_request(self._http, request, provider=self.name, read_error=read_ses_error)
        answer = json_body(response)
        message_id = answer.get("MessageId") if isinstance(answer, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise unreadable_acceptance(self.name, response, "MessageId")
        return Acceptance(provider=self.name, provider_message_id=message_id)
