"""Imports every feature's models so metadata (and Alembic) sees the whole schema."""

from nibog.accounts.models import Child, User, UserFavorite  # noqa: F401
from nibog.admin.models import ReportExport  # noqa: F401
from nibog.booking.models import (  # noqa: F401
    Booking,
    BookingAddon,
    BookingItem,
    IdempotencyKey,
    PromoCode,
    WaitingListEntry,
    promo_code_events,
    promo_code_games,
)
from nibog.catalog.models import (  # noqa: F401
    AddOn,
    AddOnVariant,
    City,
    Event,
    EventFaq,
    EventGalleryImage,
    EventGame,
    GameSlot,
    GameTemplate,
    Review,
    Venue,
)
from nibog.content.models import ContactMessage, ContentPage, Faq, Testimonial  # noqa: F401
from nibog.core.audit import AuditLog  # noqa: F401
from nibog.core.models import OutboxJob  # noqa: F401
from nibog.integrations.models import Partner  # noqa: F401
from nibog.notifications.models import EmailSuppression, NotificationLog  # noqa: F401
from nibog.payments.models import (  # noqa: F401
    Payment,
    PaymentStatusChange,
    Refund,
    WebhookEvent,
)
