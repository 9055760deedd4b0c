"""The uploads bucket: presigned POST and GET, HeadObject, DeleteObject, object tags.

The only module that talks to S3 (besides `Store.open`, which creates the client with
`signature_version="s3v4"`). Presigned forms and URLs must be SigV4: against a custom
endpoint botocore otherwise falls back to SigV2, which current S3 regions refuse; both
presigning functions check what they produced rather than trust the configuration.

Every network call is counted by operation (`s3_calls_total`); presigning is local and is
not a call. Errors become typed store errors that keep their cause, except HeadObject's 404,
which is an answer ("not there"), not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from botocore.exceptions import ClientError

from graphql_api.metrics import S3_CALLS
from graphql_api.store import keys
from graphql_api.store.client import Store
from graphql_api.store.errors import map_client_error

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
PENDING_TAG = keys.PENDING_UPLOAD_TAG
_MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class PresignedPost:
    """Where to POST and the form fields to send before the file field."""

    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ObjectInfo:
    """What HeadObject says about a stored object."""

    size: int
    content_type: str


def tagging_xml(tags: dict[str, str]) -> str:
    """The `tagging` form field of a POST upload (the XML S3 expects)."""
    body = "".join(
        f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in tags.items()
    )
    return f"<Tagging><TagSet>{body}</TagSet></Tagging>"


def _require_sigv4(signed: str) -> None:
    if SIGV4_ALGORITHM not in signed:
        raise RuntimeError("S3 presigning did not use SigV4; check the client's configuration")


async def _call(store: Store, operation: str, method: str, **kwargs: Any) -> dict[str, Any]:
    S3_CALLS.labels(operation).inc()
    try:
        result: dict[str, Any] = await getattr(store.s3, method)(**kwargs)
    except Exception as exc:
        raise map_client_error(exc) from exc
    return result


async def presigned_post(
    store: Store,
    key: str,
    content_type: str,
    size: int,
    expires_in: int,
    tags: dict[str, str] | None = None,
) -> PresignedPost:
    """A POST form that stores exactly `size` bytes of `content_type` at exactly `key`.

    Every field we send is also a policy condition (S3 refuses fields the policy does not
    cover), and the conditions pin the key, the type and the length: the browser holds a
    signed form, not a signed wish list.
    """
    fields: dict[str, str] = {"Content-Type": content_type}
    conditions: list[Any] = [
        ["eq", "$Content-Type", content_type],
        ["content-length-range", size, size],
    ]
    if tags:
        fields["tagging"] = tagging_xml(tags)
        conditions.append({"tagging": fields["tagging"]})
    post: dict[str, Any] = await store.s3.generate_presigned_post(
        Bucket=store.config.bucket,
        Key=key,
        Fields=fields,
        Conditions=conditions,
        ExpiresIn=expires_in,
    )
    _require_sigv4(str(post["fields"].get("x-amz-algorithm", "")))
    return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})


async def presigned_get(
    store: Store, key: str, expires_in: int, content_disposition: str, content_type: str
) -> str:
    """A GET URL whose response carries our Content-Disposition and Content-Type (both are
    signed, so the link cannot be edited into serving the file inline)."""
    url: str = await store.s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": store.config.bucket,
            "Key": key,
            "ResponseContentDisposition": content_disposition,
            "ResponseContentType": content_type,
        },
        ExpiresIn=expires_in,
    )
    _require_sigv4(url)
    return url


async def head(store: Store, key: str) -> ObjectInfo | None:
    """Size and type of the object at `key`, or None when there is none."""
    S3_CALLS.labels("HeadObject").inc()
    try:
        res = await store.s3.head_object(Bucket=store.config.bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
            return None
        raise map_client_error(exc) from exc
    except Exception as exc:
        raise map_client_error(exc) from exc
    return ObjectInfo(size=int(res["ContentLength"]), content_type=str(res.get("ContentType", "")))


async def delete(store: Store, key: str) -> None:
    """Delete the object (S3 answers success when there was none)."""
    await _call(store, "DeleteObject", "delete_object", Bucket=store.config.bucket, Key=key)


async def set_tags(store: Store, key: str, tags: dict[str, str]) -> None:
    """Replace the object's tags."""
    tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
    await _call(
        store,
        "PutObjectTagging",
        "put_object_tagging",
        Bucket=store.config.bucket,
        Key=key,
        Tagging={"TagSet": tag_set},
    )
