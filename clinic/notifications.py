def notify_for_event(event_id):
    raise NotImplementedError  # being written now (notifications helper)
