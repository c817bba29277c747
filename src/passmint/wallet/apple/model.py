"""Typed Pydantic models of Apple Wallet's pass.json (spec: ``apple-wallet.md`` §1).

Pure: no I/O, settings or clock. The models describe *shapes and types* only; Apple's
semantic rules (limits, pairs of keys, date formats, colours ...) live in
:mod:`passmint.wallet.apple.validation`, which reports every violation with a JSON path.

Conventions:

* Attributes are snake_case; JSON keys are camelCase aliases (Apple's spelling, including
  ``URL``/``UUID``/``IDs`` acronyms, which are explicit aliases). Both spellings validate.
* Unknown keys are kept (``extra="allow"``): Wallet ignores keys it does not know, and a
  newer iOS adds keys every year, so a round trip must not drop them.
* Numbers keep their JSON type: an ``int`` stays an ``int`` (``Strict`` types, so ``true`` is
  never mistaken for ``1``). Dates stay ISO-8601 strings, exactly as Apple reads them.
* :meth:`PassJson.to_dict` emits JSON-ready data without ``None`` values (a ``null`` under an
  unknown key is dropped too: it carries nothing Wallet could read).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_serializer,
)
from pydantic.alias_generators import to_camel

from passmint.wallet.apple.problems import InvalidPass, Problem
from passmint.wallet.apple.styles import PassStyle, TransitType

Number = StrictInt | StrictFloat
"""A JSON number that keeps its type (``3`` stays ``int``, ``3.5`` stays ``float``)."""

FieldValue = StrictStr | StrictInt | StrictFloat
"""A field ``value``: text, a number, or an ISO-8601 date string."""

Text = StrictStr | None
Texts = list[StrictStr] | None
Flag = StrictBool | None


# -- enumerations ----------------------------------------------------------------------------


class TextAlignment(StrEnum):
    """``textAlignment`` of a field (not allowed on primary or back fields)."""

    LEFT = "PKTextAlignmentLeft"
    CENTER = "PKTextAlignmentCenter"
    RIGHT = "PKTextAlignmentRight"
    NATURAL = "PKTextAlignmentNatural"


class DataDetectorType(StrEnum):
    """``dataDetectorTypes`` entries (back fields only; ``[]`` turns detection off)."""

    PHONE_NUMBER = "PKDataDetectorTypePhoneNumber"
    LINK = "PKDataDetectorTypeLink"
    ADDRESS = "PKDataDetectorTypeAddress"
    CALENDAR_EVENT = "PKDataDetectorTypeCalendarEvent"


class DateStyle(StrEnum):
    """``dateStyle`` / ``timeStyle``: setting either makes the field value a date."""

    NONE = "PKDateStyleNone"
    SHORT = "PKDateStyleShort"
    MEDIUM = "PKDateStyleMedium"
    LONG = "PKDateStyleLong"
    FULL = "PKDateStyleFull"


class NumberStyle(StrEnum):
    """``numberStyle`` of a numeric field value."""

    DECIMAL = "PKNumberStyleDecimal"
    PERCENT = "PKNumberStylePercent"
    SCIENTIFIC = "PKNumberStyleScientific"
    SPELL_OUT = "PKNumberStyleSpellOut"


class BarcodeFormat(StrEnum):
    """Barcode symbologies. The last four are iOS 27 (names from third-party code, unverified)."""

    QR = "PKBarcodeFormatQR"
    PDF417 = "PKBarcodeFormatPDF417"
    AZTEC = "PKBarcodeFormatAztec"
    CODE128 = "PKBarcodeFormatCode128"
    CODE39 = "PKBarcodeFormatCode39"
    CODABAR = "PKBarcodeFormatCodabar"
    EAN13 = "PKBarcodeFormatEAN13"
    I2OF5 = "PKBarcodeFormatI2of5"


LEGACY_BARCODE_FORMATS = frozenset({BarcodeFormat.QR, BarcodeFormat.PDF417, BarcodeFormat.AZTEC})
"""The only formats the deprecated singular ``barcode`` key (iOS < 9) understands."""

SQUARE_BARCODE_FORMATS = frozenset({BarcodeFormat.QR, BarcodeFormat.AZTEC})
"""Square symbologies: on a generic pass they leave room for only four fields below."""


class PreferredStyleScheme(StrEnum):
    """``preferredStyleSchemes`` entries (iOS 18 poster tickets, iOS 26 boarding passes)."""

    POSTER_EVENT_TICKET = "posterEventTicket"
    EVENT_TICKET = "eventTicket"
    BOARDING_PASS = "boardingPass"  # noqa: S105 - a layout name, not a password
    SEMANTIC_BOARDING_PASS = "semanticBoardingPass"  # noqa: S105


class EventType(StrEnum):
    """Semantic ``eventType``; since iOS 18 it picks the poster ticket template."""

    GENERIC = "PKEventTypeGeneric"
    LIVE_PERFORMANCE = "PKEventTypeLivePerformance"
    MOVIE = "PKEventTypeMovie"
    SPORTS = "PKEventTypeSports"
    CONFERENCE = "PKEventTypeConference"
    CONVENTION = "PKEventTypeConvention"
    WORKSHOP = "PKEventTypeWorkshop"
    SOCIAL_GATHERING = "PKEventTypeSocialGathering"


class TransitSecurityProgram(StrEnum):
    """iOS 26 security programs of a boarding pass passenger or airport."""

    TSA_PRECHECK = "PKTransitSecurityProgramTSAPreCheck"
    TSA_PRECHECK_TOUCHLESS_ID = "PKTransitSecurityProgramTSAPreCheckTouchlessID"
    OSS = "PKTransitSecurityProgramOSS"
    ITI = "PKTransitSecurityProgramITI"
    ITD = "PKTransitSecurityProgramITD"
    GLOBAL_ENTRY = "PKTransitSecurityProgramGlobalEntry"
    CLEAR = "PKTransitSecurityProgramCLEAR"


class PassengerCapability(StrEnum):
    """iOS 26 passenger capabilities shown on airline boarding passes."""

    PREBOARDING = "PKPassengerCapabilityPreboarding"
    PRIORITY_BOARDING = "PKPassengerCapabilityPriorityBoarding"
    CARRYON = "PKPassengerCapabilityCarryon"
    PERSONAL_ITEM = "PKPassengerCapabilityPersonalItem"


class FeaturedActionType(StrEnum):
    """iOS 27 ``featuredActions`` types."""

    VIEW_SCHEDULE = "viewSchedule"
    WATCH_TRAILER = "watchTrailer"
    LISTEN_TO_MUSIC = "listenToMusic"
    CALL = "call"
    PLACE = "place"
    ADD_TO_BALANCE = "addToBalance"
    ORDER = "order"
    SHOP = "shop"
    MEMBERSHIP_BENEFITS = "membershipBenefits"
    BOOK_APPOINTMENT = "bookAppointment"
    BOOK_CAR = "bookCar"
    BOOK_FLIGHT = "bookFlight"
    BOOK_STAY = "bookStay"
    VIEW_OFFERS_REWARDS = "viewOffersRewards"


class UpcomingEntryType(StrEnum):
    """``upcomingPassInformation[].type`` (iOS 26 knows only events)."""

    EVENT = "event"


# -- base ------------------------------------------------------------------------------------


class WalletModel(BaseModel):
    """Base of every pass.json model: camelCase aliases, snake_case names, unknown keys kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )


# -- semantic tags ---------------------------------------------------------------------------


class CurrencyAmount(WalletModel):
    """Semantic money amount; Apple types ``amount`` as a string."""

    amount: Text = None
    currency_code: Text = None


class SemanticLocation(WalletModel):
    """Semantic coordinates (departure, destination, venue)."""

    latitude: Number
    longitude: Number


class PersonNameComponents(WalletModel):
    """A person's name, split the way ``NSPersonNameComponents`` splits it."""

    family_name: Text = None
    given_name: Text = None
    middle_name: Text = None
    name_prefix: Text = None
    name_suffix: Text = None
    nickname: Text = None
    phonetic_representation: Text = None


class Seat(WalletModel):
    """One seat; aisle, level and section colour are iOS 18 poster-ticket additions."""

    seat_section: Text = None
    seat_row: Text = None
    seat_number: Text = None
    seat_identifier: Text = None
    seat_type: Text = None
    seat_description: Text = None
    seat_aisle: Text = None
    seat_level: Text = None
    seat_section_color: Text = None


class WifiNetwork(WalletModel):
    """A Wi-Fi network the pass holder may join."""

    ssid: StrictStr
    password: StrictStr


class EventDateInfo(WalletModel):
    """iOS 18 ``eventStartDateInfo``: a start date with display hints."""

    date: StrictStr
    ignore_time_components: Flag = None
    time_zone: Text = None


class AirPlayDevice(WalletModel):
    """iOS 18 ``airplay`` entry (a device group token for the venue's speakers)."""

    airplay_device_group_token: Text = None


class SemanticTags(WalletModel):
    """Machine-readable metadata (``semantics``), at pass level or on a single field.

    Every tag Apple documents up to iOS 26 is typed; unknown tags are accepted and kept.
    Dates are ISO-8601 strings.
    """

    additional_ticket_attributes: Text = None
    admission_level: Text = None
    admission_level_abbreviation: Text = None
    airline_code: Text = None
    airplay: list[AirPlayDevice] | None = None
    album_ids: Texts = Field(None, alias="albumIDs")
    artist_ids: Texts = Field(None, alias="artistIDs")
    attendee_name: Text = None
    away_team_abbreviation: Text = None
    away_team_location: Text = None
    away_team_name: Text = None
    balance: CurrencyAmount | None = None
    boarding_group: Text = None
    boarding_sequence_number: Text = None
    boarding_zone: Text = None
    car_number: Text = None
    confirmation_number: Text = None
    current_arrival_date: Text = None
    current_boarding_date: Text = None
    current_departure_date: Text = None
    departure_airport_code: Text = None
    departure_airport_name: Text = None
    departure_city_name: Text = None
    departure_gate: Text = None
    departure_location: SemanticLocation | None = None
    departure_location_description: Text = None
    departure_location_security_programs: list[TransitSecurityProgram] | None = None
    departure_location_time_zone: Text = None
    departure_platform: Text = None
    departure_station_name: Text = None
    departure_terminal: Text = None
    destination_airport_code: Text = None
    destination_airport_name: Text = None
    destination_city_name: Text = None
    destination_gate: Text = None
    destination_location: SemanticLocation | None = None
    destination_location_description: Text = None
    destination_location_security_programs: list[TransitSecurityProgram] | None = None
    destination_location_time_zone: Text = None
    destination_platform: Text = None
    destination_station_name: Text = None
    destination_terminal: Text = None
    duration: Number | None = None
    entrance_description: Text = None
    event_end_date: Text = None
    event_live_message: Text = None
    event_name: Text = None
    event_start_date: Text = None
    event_start_date_info: EventDateInfo | None = None
    event_type: EventType | None = None
    flight_code: Text = None
    flight_number: Number | None = None
    genre: Text = None
    home_team_abbreviation: Text = None
    home_team_location: Text = None
    home_team_name: Text = None
    international_documents_are_verified: Flag = None
    international_documents_verified_declaration_name: Text = None
    league_abbreviation: Text = None
    league_name: Text = None
    lounge_place_ids: Texts = Field(None, alias="loungePlaceIDs")
    membership_program_name: Text = None
    membership_program_number: Text = None
    membership_program_status: Text = None
    original_arrival_date: Text = None
    original_boarding_date: Text = None
    original_departure_date: Text = None
    passenger_airline_ssrs: Texts = Field(None, alias="passengerAirlineSSRs")
    passenger_capabilities: list[PassengerCapability] | None = None
    passenger_eligible_security_programs: list[TransitSecurityProgram] | None = None
    passenger_information_ssrs: Texts = Field(None, alias="passengerInformationSSRs")
    passenger_name: PersonNameComponents | None = None
    passenger_service_ssrs: Texts = Field(None, alias="passengerServiceSSRs")
    performer_names: Texts = None
    playlist_ids: Texts = Field(None, alias="playlistIDs")
    priority_status: Text = None
    seats: list[Seat] | None = None
    security_screening: Text = None
    silence_requested: Flag = None
    sport_name: Text = None
    tailgating_allowed: Flag = None
    ticket_fare_class: Text = None
    total_price: CurrencyAmount | None = None
    transit_provider: Text = None
    transit_status: Text = None
    transit_status_reason: Text = None
    vehicle_name: Text = None
    vehicle_number: Text = None
    vehicle_type: Text = None
    venue_box_office_open_date: Text = None
    venue_close_date: Text = None
    venue_doors_open_date: Text = None
    venue_entrance: Text = None
    venue_entrance_door: Text = None
    venue_entrance_gate: Text = None
    venue_entrance_portal: Text = None
    venue_fan_zone_open_date: Text = None
    venue_gates_open_date: Text = None
    venue_location: SemanticLocation | None = None
    venue_name: Text = None
    venue_open_date: Text = None
    venue_parking_lots_open_date: Text = None
    venue_phone_number: Text = None
    venue_region_name: Text = None
    venue_room: Text = None
    wifi_access: list[WifiNetwork] | None = None


# -- fields and style dictionaries -----------------------------------------------------------


class PassField(WalletModel):
    """One field dictionary (Apple's ``PassFieldContent``).

    ``key`` must be unique pass-wide and ``value`` is required. ``row`` (0 or 1) is only
    meaningful on eventTicket auxiliary fields.
    """

    key: StrictStr
    value: FieldValue
    label: Text = None
    attributed_value: FieldValue | None = None
    change_message: Text = None
    text_alignment: TextAlignment | None = None
    data_detector_types: list[DataDetectorType] | None = None
    date_style: DateStyle | None = None
    time_style: DateStyle | None = None
    is_relative: Flag = None
    ignores_time_zone: Flag = None
    number_style: NumberStyle | None = None
    currency_code: Text = None
    row: StrictInt | None = None
    semantics: SemanticTags | None = None


FIELD_LISTS: tuple[tuple[str, str], ...] = (
    ("header_fields", "headerFields"),
    ("primary_fields", "primaryFields"),
    ("secondary_fields", "secondaryFields"),
    ("auxiliary_fields", "auxiliaryFields"),
    ("back_fields", "backFields"),
    ("additional_info_fields", "additionalInfoFields"),
    ("footer_fields", "footerFields"),
)
"""(attribute, JSON key) of every field list a style dictionary may hold, in display order."""


class PassStructure(WalletModel):
    """A style dictionary (``boardingPass``, ``coupon``, ... ``posterGeneric``).

    ``transitType`` belongs to boardingPass only; ``additionalInfoFields`` to poster layouts;
    ``footerFields`` to posterGeneric (iOS 27).
    """

    transit_type: TransitType | None = None
    header_fields: list[PassField] | None = None
    primary_fields: list[PassField] | None = None
    secondary_fields: list[PassField] | None = None
    auxiliary_fields: list[PassField] | None = None
    back_fields: list[PassField] | None = None
    additional_info_fields: list[PassField] | None = None
    footer_fields: list[PassField] | None = None

    def field_lists(self) -> Iterator[tuple[str, list[PassField]]]:
        """(JSON key, fields) for every field list present, in display order."""
        for attribute, key in FIELD_LISTS:
            fields: list[PassField] | None = getattr(self, attribute)
            if fields is not None:
                yield key, fields


# -- relevance, barcodes, NFC ----------------------------------------------------------------


class Location(WalletModel):
    """A location where the pass is relevant (at most 10)."""

    latitude: Number
    longitude: Number
    altitude: Number | None = None
    relevant_text: Text = None


class Beacon(WalletModel):
    """An iBeacon near which the pass is relevant (at most 10)."""

    proximity_uuid: StrictStr = Field(alias="proximityUUID")
    major: StrictInt | None = None
    minor: StrictInt | None = None
    relevant_text: Text = None


class RelevantDateEntry(WalletModel):
    """One ``relevantDates`` entry: an interval (``startDate``/``endDate``, ≤24 h) or a date.

    iOS 18 called the single date ``relevantDate``; iOS 26 renamed it ``date``. Either spelling
    is read, and a single-date entry is always written with **both** keys so every iOS sees it.
    """

    start_date: Text = None
    end_date: Text = None
    relevant_date: Text = None
    date: Text = None

    @model_serializer(mode="wrap")
    def _write_both_date_keys(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        single = self.relevant_date if self.relevant_date is not None else self.date
        if single is not None and self.start_date is None and self.end_date is None:
            # ``by_alias`` is None when the caller relies on the config (aliases on).
            old_name = "relevant_date" if info.by_alias is False else "relevantDate"
            for name in (old_name, "date"):
                if data.get(name) is None:
                    data[name] = single
        return data


class Barcode(WalletModel):
    """A ``barcodes`` entry (iOS 9+; the first format the device supports wins)."""

    format: BarcodeFormat
    message: StrictStr
    message_encoding: StrictStr = "iso-8859-1"
    alt_text: Text = None


class NFC(WalletModel):
    """``nfc``: a Value Added Services payload (needs an NFC-enabled Pass Type ID)."""

    message: StrictStr
    encryption_public_key: StrictStr
    requires_authentication: Flag = None


class FeaturedAction(WalletModel):
    """iOS 27 featured action (at most 2). The JSON shape comes from third-party code only."""

    identifier: StrictStr
    type: FeaturedActionType
    url: Text = None
    place_identifier: Text = None
    icon: Text = None


# -- iOS 26 upcoming pass information --------------------------------------------------------


class ImageURLEntry(WalletModel):
    """A remote image: an https URL, its SHA-256 and its size (≤2 MB)."""

    sha256: StrictStr = Field(alias="SHA256")
    url: StrictStr = Field(alias="URL")
    scale: Number | None = None
    size: StrictInt | None = None


class UpcomingImage(WalletModel):
    """An image of an upcoming entry: remote URLs, or ``reuseExisting`` for the local one."""

    urls: list[ImageURLEntry] | None = Field(None, alias="URLs")
    reuse_existing: Flag = None


class UpcomingImages(WalletModel):
    """Images of an upcoming entry's detail view."""

    header_image: UpcomingImage | None = None
    venue_map: UpcomingImage | None = None


class EventGuideURLs(WalletModel):
    """Event-guide links of an upcoming entry (the same keys as the pass-level ones)."""

    accessibility_url: Text = Field(None, alias="accessibilityURL")
    add_on_url: Text = Field(None, alias="addOnURL")
    bag_policy_url: Text = Field(None, alias="bagPolicyURL")
    contact_venue_email: Text = None
    contact_venue_phone_number: Text = None
    contact_venue_website: Text = None
    directions_information_url: Text = Field(None, alias="directionsInformationURL")
    merchandise_url: Text = Field(None, alias="merchandiseURL")
    order_food_url: Text = Field(None, alias="orderFoodURL")
    parking_information_url: Text = Field(None, alias="parkingInformationURL")
    purchase_parking_url: Text = Field(None, alias="purchaseParkingURL")
    sell_url: Text = Field(None, alias="sellURL")
    transfer_url: Text = Field(None, alias="transferURL")
    transit_information_url: Text = Field(None, alias="transitInformationURL")


class UpcomingDateInformation(WalletModel):
    """When an upcoming entry happens; without it Wallet labels the entry TBD."""

    date: Text = None
    ignore_time_components: Flag = None
    is_all_day: Flag = None
    is_unannounced: Flag = None
    is_undetermined: Flag = None
    time_zone: Text = None


class UpcomingSemanticTags(SemanticTags):
    """Semantic tags of an upcoming entry, plus its Maps place ID."""

    venue_place_id: Text = Field(None, alias="venuePlaceID")


class UpcomingPassInformationEntry(WalletModel):
    """iOS 26 ``upcomingPassInformation`` entry: one event of a multi-event pass."""

    type: UpcomingEntryType | None = None
    identifier: StrictStr
    name: StrictStr
    is_active: Flag = None
    urls: EventGuideURLs | None = Field(None, alias="URLs")
    additional_info_fields: list[PassField] | None = None
    auxiliary_store_identifiers: list[StrictInt] | None = None
    back_fields: list[PassField] | None = None
    date_information: UpcomingDateInformation | None = None
    images: UpcomingImages | None = None
    semantics: UpcomingSemanticTags | None = None


# -- the pass --------------------------------------------------------------------------------

_LEGACY_STYLE_ATTRIBUTES: tuple[tuple[PassStyle, str], ...] = (
    (PassStyle.BOARDING_PASS, "boarding_pass"),
    (PassStyle.COUPON, "coupon"),
    (PassStyle.EVENT_TICKET, "event_ticket"),
    (PassStyle.GENERIC, "generic"),
    (PassStyle.STORE_CARD, "store_card"),
)


class PassJson(WalletModel):
    """The whole pass.json: every top-level key of spec §1 up to iOS 27.

    Validation here is about types only; run
    :func:`passmint.wallet.apple.validation.validate_pass_json` for Apple's rules.
    """

    # Standard keys (required by Apple).
    format_version: StrictInt = 1
    pass_type_identifier: StrictStr
    serial_number: StrictStr
    team_identifier: StrictStr
    organization_name: StrictStr
    description: StrictStr

    # Web service.
    web_service_url: Text = Field(None, alias="webServiceURL")
    authentication_token: Text = None

    # Colours: CSS ``rgb(r, g, b)``.
    background_color: Text = None
    foreground_color: Text = None
    label_color: Text = None
    footer_background_color: Text = None
    strip_color: Text = None

    # Display.
    logo_text: Text = None
    event_logo_text: Text = None
    voided: Flag = None
    expiration_date: Text = None
    sharing_prohibited: Flag = None
    suppress_strip_shine: Flag = None
    suppress_header_darkening: Flag = None
    use_automatic_colors: Flag = None
    grouping_identifier: Text = None

    # Associated apps.
    associated_store_identifiers: list[StrictInt] | None = None
    app_launch_url: Text = Field(None, alias="appLaunchURL")
    auxiliary_store_identifiers: list[StrictInt] | None = None
    user_info: JsonValue = None

    # Relevance.
    locations: list[Location] | None = None
    beacons: list[Beacon] | None = None
    max_distance: Number | None = None
    relevant_date: Text = None
    relevant_dates: list[RelevantDateEntry] | None = None

    # NFC, semantics, barcodes.
    nfc: NFC | None = None
    semantics: SemanticTags | None = None
    barcodes: list[Barcode] | None = None
    barcode: Barcode | None = None

    # Styles: exactly one legacy style; posterGeneric (iOS 27) only beside one.
    boarding_pass: PassStructure | None = None
    coupon: PassStructure | None = None
    event_ticket: PassStructure | None = None
    generic: PassStructure | None = None
    store_card: PassStructure | None = None
    poster_generic: PassStructure | None = None
    featured_actions: list[FeaturedAction] | None = None

    # iOS 18 poster event tickets: layout choice and event-guide links.
    preferred_style_schemes: list[PreferredStyleScheme] | None = None
    accessibility_url: Text = Field(None, alias="accessibilityURL")
    add_on_url: Text = Field(None, alias="addOnURL")
    bag_policy_url: Text = Field(None, alias="bagPolicyURL")
    contact_venue_email: Text = None
    contact_venue_phone_number: Text = None
    contact_venue_website: Text = None
    directions_information_url: Text = Field(None, alias="directionsInformationURL")
    merchandise_url: Text = Field(None, alias="merchandiseURL")
    order_food_url: Text = Field(None, alias="orderFoodURL")
    parking_information_url: Text = Field(None, alias="parkingInformationURL")
    purchase_parking_url: Text = Field(None, alias="purchaseParkingURL")
    transit_information_url: Text = Field(None, alias="transitInformationURL")
    sell_url: Text = Field(None, alias="sellURL")
    transfer_url: Text = Field(None, alias="transferURL")

    # iOS 26: multi-event passes and enhanced boarding passes.
    upcoming_pass_information: list[UpcomingPassInformationEntry] | None = None
    change_seat_url: Text = Field(None, alias="changeSeatURL")
    entertainment_url: Text = Field(None, alias="entertainmentURL")
    management_url: Text = Field(None, alias="managementURL")
    purchase_additional_baggage_url: Text = Field(None, alias="purchaseAdditionalBaggageURL")
    purchase_lounge_access_url: Text = Field(None, alias="purchaseLoungeAccessURL")
    purchase_wifi_url: Text = Field(None, alias="purchaseWifiURL")
    register_service_animal_url: Text = Field(None, alias="registerServiceAnimalURL")
    report_lost_bag_url: Text = Field(None, alias="reportLostBagURL")
    request_wheelchair_url: Text = Field(None, alias="requestWheelchairURL")
    transit_provider_email: Text = None
    transit_provider_phone_number: Text = None
    transit_provider_website_url: Text = Field(None, alias="transitProviderWebsiteURL")
    upgrade_url: Text = Field(None, alias="upgradeURL")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Parse a pass.json mapping; raises ``pydantic.ValidationError`` on wrong types."""
        return cls.model_validate(dict(data))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready pass.json: Apple's key spelling, no ``None`` values, ints kept as ints."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @property
    def style(self) -> PassStyle:
        """The single legacy style; raises :class:`InvalidPass` if there is not exactly one."""
        present = [
            style for style, attr in _LEGACY_STYLE_ATTRIBUTES if getattr(self, attr) is not None
        ]
        if len(present) != 1:
            code = "style_missing" if not present else "style_multiple"
            found = ", ".join(present) or "none"
            raise InvalidPass(
                [Problem("$", code, f"exactly one legacy style key is required (found {found})")]
            )
        return present[0]

    @property
    def style_dict(self) -> PassStructure:
        """The style dictionary of :attr:`style`."""
        attribute = dict(_LEGACY_STYLE_ATTRIBUTES)[self.style]
        structure: PassStructure = getattr(self, attribute)
        return structure

    def style_dicts(self) -> Iterator[tuple[str, PassStructure]]:
        """(JSON key, structure) of every style dictionary present, posterGeneric last."""
        for style, attribute in _LEGACY_STYLE_ATTRIBUTES:
            structure: PassStructure | None = getattr(self, attribute)
            if structure is not None:
                yield style.value, structure
        if self.poster_generic is not None:
            yield "posterGeneric", self.poster_generic

    def all_fields(self) -> Iterator[tuple[str, PassField]]:
        """(JSON path, field) of every field in every style dictionary, in display order.

        Paths look like ``$.storeCard.primaryFields[0]``.
        """
        for style_key, structure in self.style_dicts():
            for list_key, fields in structure.field_lists():
                for index, field in enumerate(fields):
                    yield f"$.{style_key}.{list_key}[{index}]", field
