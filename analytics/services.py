from analytics.models import AuditAction, AuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None


def audit_record(*, action, actor=None, target=None, request=None, label="", **data) -> AuditEvent:
    """Append one audit event. ``actor`` may be None (anonymous, e.g. a failed login)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=str(actor) if actor else label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        ip_address=client_ip(request),
        data=data,
    )


def audit_record_many(*, action, actor, entries, request=None) -> list[AuditEvent]:
    """Append one audit event per ``(target, data)`` in ``entries``, in one INSERT: a list page
    that showed several patients' data at once."""
    if action not in AuditAction.values:  # bulk_create skips the checks a single save goes through
        raise ValueError(f"unknown audit action {action!r}")
    ip = client_ip(request)
    return AuditEvent.objects.bulk_create([
        AuditEvent(actor=actor, actor_label=str(actor), action=action, target_type=target._meta.label_lower,
                   target_id=str(target.pk), target_label=str(target)[:200], ip_address=ip, data=data)
        for target, data in entries
    ])
