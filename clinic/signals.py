"""Signals the clinic sends for higher apps (chat, wellness, ...) to react to.

Defined here, in the lower app, and received in the higher one (connected in its AppConfig.ready
or at import of its receivers module), so clinic never imports telehealth.
"""

from django.dispatch import Signal

# Sent on commit when a relationship that grants access to a patient's data ends (a care-team
# doctor removed, a family link removed, a hospital registration ended, an invitation withdrawn).
# kwargs: patient_id, user_ids (the accounts whose access to that patient may have ended).
# Receivers end that access on every live surface at once (e.g. close open chat sockets).
patient_access_ended = Signal()
