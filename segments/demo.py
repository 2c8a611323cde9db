"""A demo audience for ``seed_demo``: people, their devices, and what they did.

Profiles get the identities ``demo-0000001``, ``demo-0000002``, … . Seeding again skips
every identity that already exists (its profile, devices and events stay as they are)
and adds only the missing ones, so ``make run`` can seed at every start and a later
``--profiles`` with a larger number grows the audience.

Everything is drawn from a random generator seeded per block of profiles, so the same
identity always gets the same person, devices and history; event times are relative
to the moment of seeding (the last 90 days). Emails use the reserved example.*
domains (RFC 2606) so a demo send can never reach a real inbox.

On PostgreSQL the rows stream in with COPY a block at a time (memory stays flat);
elsewhere, bulk_create.
"""

import base64
import json
import random
import time
import unicodedata
from datetime import timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db import connection
from django.utils import timezone

from segments.actions.properties import note_properties
from segments.models import Device, Event, Profile, PropertyDefinition

DEFAULT_PROFILES = 2_000
IDENTITY = "demo-{:07d}"
# Part of what makes a person reproducible: changing it changes everyone.
BLOCK = 1_000
TEST_PROFILES = 5
HISTORY_DAYS = 90
EVENTS_PER_PROFILE = 20  # on average

# One city a line: city|region|country|latitude|longitude|IANA time zone|languages (BCP 47)|
# name lists|a mobile number's shape (E.164, # a random digit)|share of a US-heavy audience.
_CITY_TABLE = """
San Francisco|California|United States|37.7749|-122.4194|America/Los_Angeles|en-US|en|+1415#######|6
Los Angeles|California|United States|34.0522|-118.2437|America/Los_Angeles|en-US es-US|en es|+1213#######|6
San Diego|California|United States|32.7157|-117.1611|America/Los_Angeles|en-US|en es|+1619#######|3
Seattle|Washington|United States|47.6062|-122.3321|America/Los_Angeles|en-US|en|+1206#######|3
Denver|Colorado|United States|39.7392|-104.9903|America/Denver|en-US|en|+1303#######|2
Chicago|Illinois|United States|41.8781|-87.6298|America/Chicago|en-US|en|+1312#######|4
Houston|Texas|United States|29.7604|-95.3698|America/Chicago|en-US es-US|en es|+1713#######|3
New York|New York|United States|40.7128|-74.0060|America/New_York|en-US|en|+1212#######|7
Miami|Florida|United States|25.7617|-80.1918|America/New_York|en-US es-US|es en|+1305#######|3
Toronto|Ontario|Canada|43.6532|-79.3832|America/Toronto|en-CA|en|+1416#######|3
Montreal|Quebec|Canada|45.5019|-73.5674|America/Toronto|fr-CA en-CA|fr|+1514#######|2
Mexico City|Mexico City|Mexico|19.4326|-99.1332|America/Mexico_City|es-MX|es|+5255########|4
Bogotá|Bogotá|Colombia|4.7110|-74.0721|America/Bogota|es-CO|es|+573#########|2
São Paulo|São Paulo|Brazil|-23.5505|-46.6333|America/Sao_Paulo|pt-BR|pt|+55119########|5
Rio de Janeiro|Rio de Janeiro|Brazil|-22.9068|-43.1729|America/Sao_Paulo|pt-BR|pt|+55219########|3
Buenos Aires|Buenos Aires|Argentina|-34.6037|-58.3816|America/Argentina/Buenos_Aires|es-AR|es|+54911########|2
London|England|United Kingdom|51.5074|-0.1278|Europe/London|en-GB|en|+447#########|6
Manchester|England|United Kingdom|53.4808|-2.2426|Europe/London|en-GB|en|+447#########|2
Dublin|Leinster|Ireland|53.3498|-6.2603|Europe/Dublin|en-IE|en|+3538########|2
Paris|Île-de-France|France|48.8566|2.3522|Europe/Paris|fr-FR|fr|+336########|5
Lyon|Auvergne-Rhône-Alpes|France|45.7640|4.8357|Europe/Paris|fr-FR|fr|+337########|2
Berlin|Berlin|Germany|52.5200|13.4050|Europe/Berlin|de-DE|de|+4917########|4
Munich|Bavaria|Germany|48.1351|11.5820|Europe/Berlin|de-DE|de|+4915#########|2
Amsterdam|North Holland|Netherlands|52.3676|4.9041|Europe/Amsterdam|nl-NL en|nl|+316########|2
Madrid|Community of Madrid|Spain|40.4168|-3.7038|Europe/Madrid|es-ES|es|+346########|3
Barcelona|Catalonia|Spain|41.3874|2.1686|Europe/Madrid|es-ES ca-ES|es|+346########|2
Rome|Lazio|Italy|41.9028|12.4964|Europe/Rome|it-IT|it|+393#########|2
Milan|Lombardy|Italy|45.4642|9.1900|Europe/Rome|it-IT|it|+393#########|2
Stockholm|Stockholm County|Sweden|59.3293|18.0686|Europe/Stockholm|sv-SE en|sv|+467########|1
Warsaw|Masovian|Poland|52.2297|21.0122|Europe/Warsaw|pl-PL|pl|+485########|2
Istanbul|Istanbul|Türkiye|41.0082|28.9784|Europe/Istanbul|tr-TR|tr|+905#########|2
Cairo|Cairo|Egypt|30.0444|31.2357|Africa/Cairo|ar-EG en|ar|+201#########|2
Lagos|Lagos|Nigeria|6.5244|3.3792|Africa/Lagos|en-NG|ng|+2348#########|2
Nairobi|Nairobi|Kenya|-1.2921|36.8219|Africa/Nairobi|en-KE sw-KE|ke|+2547########|2
Johannesburg|Gauteng|South Africa|-26.2041|28.0473|Africa/Johannesburg|en-ZA|en|+278########|1
Dubai|Dubai|United Arab Emirates|25.2048|55.2708|Asia/Dubai|ar-AE en|ar|+9715########|2
Mumbai|Maharashtra|India|19.0760|72.8777|Asia/Kolkata|hi-IN en-IN mr-IN|hi|+919#########|4
Bengaluru|Karnataka|India|12.9716|77.5946|Asia/Kolkata|en-IN kn-IN|hi|+918#########|3
Delhi|Delhi|India|28.7041|77.1025|Asia/Kolkata|hi-IN en-IN|hi|+919#########|3
Singapore|Singapore|Singapore|1.3521|103.8198|Asia/Singapore|en-SG zh-SG|zh en|+659#######|2
Jakarta|Jakarta|Indonesia|-6.2088|106.8456|Asia/Jakarta|id-ID|id|+628#########|2
Bangkok|Bangkok|Thailand|13.7563|100.5018|Asia/Bangkok|th-TH|th|+668########|2
Manila|Metro Manila|Philippines|14.5995|120.9842|Asia/Manila|en-PH fil-PH|ph|+639#########|2
Shanghai|Shanghai|China|31.2304|121.4737|Asia/Shanghai|zh-CN|zh|+861##########|2
Hong Kong|Hong Kong|Hong Kong|22.3193|114.1694|Asia/Hong_Kong|zh-HK en|zh|+8529#######|1
Seoul|Seoul|South Korea|37.5665|126.9780|Asia/Seoul|ko-KR|ko|+8210########|2
Tokyo|Tokyo|Japan|35.6762|139.6503|Asia/Tokyo|ja-JP|ja|+8190########|4
Osaka|Osaka|Japan|34.6937|135.5023|Asia/Tokyo|ja-JP|ja|+8180########|2
Sydney|New South Wales|Australia|-33.8688|151.2093|Australia/Sydney|en-AU|en|+614########|3
Melbourne|Victoria|Australia|-37.8136|144.9631|Australia/Melbourne|en-AU|en|+614########|2
Auckland|Auckland|New Zealand|-36.8485|174.7633|Pacific/Auckland|en-NZ|en|+642########|1
"""
CITIES = [
    (city, region, country, float(lat), float(lon), tz, languages.split(), names.split(), phone, int(share))
    for city, region, country, lat, lon, tz, languages, names, phone, share in (
        line.split("|") for line in _CITY_TABLE.strip().splitlines()
    )
]

# Given and family names in Latin script, so emails can be made from them.
_NAME_TABLE = """
en female: Emma, Olivia, Ava, Sophia, Mia, Charlotte, Amelia, Grace, Chloe, Lily, Hannah, Zoe
en male: Liam, Noah, James, Oliver, Ethan, Lucas, Henry, Jack, Daniel, Samuel, Owen, Ryan
en family: Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Taylor, Clark, Walker, Young, Hall, Lee
es female: Sofía, Valentina, Isabella, Camila, Lucía, Martina, Elena, Paula, Daniela, Carmen
es male: Mateo, Santiago, Diego, Alejandro, Javier, Carlos, Pablo, Andrés, Miguel, Hugo
es family: García, Rodríguez, Martínez, López, González, Hernández, Pérez, Sánchez, Ramírez, Torres, Flores, Rivera
pt female: Ana, Beatriz, Mariana, Júlia, Larissa, Camila, Fernanda, Gabriela, Letícia, Isabela
pt male: João, Pedro, Lucas, Gabriel, Rafael, Gustavo, Felipe, Thiago, Bruno, Matheus
pt family: Silva, Santos, Oliveira, Souza, Lima, Pereira, Costa, Ferreira, Almeida, Carvalho, Ribeiro, Gomes
fr female: Camille, Léa, Manon, Chloé, Inès, Jade, Louise, Alice, Juliette, Margaux
fr male: Louis, Gabriel, Hugo, Arthur, Jules, Raphaël, Léo, Adam, Théo, Nathan
fr family: Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Laurent, Lefèvre
de female: Mia, Hanna, Lena, Lea, Anna, Laura, Lina, Marie, Leonie, Johanna
de male: Lukas, Leon, Finn, Paul, Jonas, Felix, Maximilian, Elias, Noah, Tim
de family: Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, Koch, Richter
nl female: Emma, Julia, Sophie, Tess, Fenna, Sanne, Lotte, Eva
nl male: Daan, Sem, Lucas, Levi, Bram, Thijs, Jesse, Ruben
nl family: de Jong, Jansen, de Vries, van den Berg, Bakker, Visser, Smit, Meijer, Mulder, de Boer
it female: Giulia, Chiara, Francesca, Sara, Martina, Alessia, Aurora, Elisa, Giorgia, Federica
it male: Marco, Luca, Alessandro, Matteo, Lorenzo, Andrea, Francesco, Davide, Simone, Giovanni
it family: Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, Bruno, Conti
sv female: Alice, Maja, Elsa, Astrid, Ebba, Wilma, Freja, Saga
sv male: William, Hugo, Oscar, Elias, Axel, Liam, Nils, Erik
sv family: Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson, Svensson, Lindberg
pl female: Zuzanna, Julia, Maja, Zofia, Hanna, Aleksandra, Natalia, Oliwia
pl male: Jakub, Antoni, Jan, Szymon, Filip, Kacper, Piotr, Adam
pl family: Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński, Szymański
tr female: Zeynep, Elif, Defne, Ecrin, Azra, Nehir, Ayşe, Fatma
tr male: Yusuf, Eymen, Mustafa, Emir, Ömer, Ali, Mehmet, Can
tr family: Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın, Özdemir, Arslan
ar female: Fatima, Mariam, Noor, Layla, Sara, Aisha, Hana, Yasmin, Salma
ar male: Mohamed, Ahmed, Omar, Ali, Youssef, Khaled, Hassan, Karim
ar family: Hassan, Ali, Mahmoud, Ibrahim, Abdullah, Mostafa, Saleh, Nasser, Haddad, Khalil
ng female: Chiamaka, Ngozi, Aisha, Funmilayo, Adaeze, Temitope, Zainab, Blessing
ng male: Chinedu, Emeka, Tunde, Olumide, Ibrahim, Segun, Kelechi, Musa
ng family: Okafor, Adeyemi, Okonkwo, Balogun, Eze, Bello, Nwosu, Abubakar, Adebayo, Ogunleye
ke female: Wanjiru, Achieng, Akinyi, Njeri, Mumbua, Nafula, Amani, Zawadi
ke male: Kamau, Otieno, Mwangi, Kiprop, Odhiambo, Wekesa, Baraka, Juma
ke family: Kamau, Otieno, Mwangi, Ochieng, Kariuki, Wanjala, Kiptoo, Mutua, Njoroge, Omondi
hi female: Aanya, Diya, Saanvi, Ananya, Ishita, Priya, Kavya, Meera, Riya, Pooja
hi male: Aarav, Vihaan, Arjun, Rohan, Aditya, Rahul, Karan, Vikram, Sai, Ishaan
hi family: Sharma, Patel, Singh, Kumar, Gupta, Reddy, Iyer, Nair, Desai, Mehta, Joshi, Rao
id female: Putri, Siti, Dewi, Ayu, Nurul, Intan, Rina, Sari
id male: Budi, Agus, Rizky, Dimas, Fajar, Andi, Bayu, Arif
id family: Santoso, Wijaya, Saputra, Hidayat, Pratama, Kusuma, Setiawan, Nugroho, Halim
th female: Siriporn, Ploy, Naree, Malee, Kanya, Pim, Somchai, Araya
th male: Somsak, Anan, Niran, Kittisak, Chai, Prasert, Wichai, Thanawat
th family: Saetang, Wongsawat, Srisuk, Chaiyaporn, Boonmee, Rattanakorn, Suwannarat, Jaidee
ph female: Maria, Angelica, Kristine, Jasmine, Patricia, Camille, Andrea, Nicole
ph male: Jose, Mark, Paolo, Carlo, Miguel, Joshua, Christian, Rafael
ph family: Santos, Reyes, Cruz, Bautista, Ocampo, Garcia, Mendoza, Torres, Villanueva, Ramos
zh female: Na, Fang, Jing, Mei, Lin, Xiu, Ying, Hui, Yan, Ling
zh male: Wei, Jun, Hao, Lei, Ming, Tao, Jian, Qiang, Yong, Jie
zh family: Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao, Wu, Zhou, Xu, Sun, Lin, Chan, Wong
ko female: Ji-woo, Seo-yeon, Min-ji, Ha-eun, Soo-ah, Ji-min, Yuna, Da-eun
ko male: Min-jun, Seo-jun, Ji-ho, Ha-joon, Do-yoon, Joon-woo, Hyun-woo, Jae-won
ko family: Kim, Lee, Park, Choi, Jung, Kang, Cho, Yoon, Jang, Lim, Han
ja female: Yui, Hina, Sakura, Aoi, Yuna, Rin, Mei, Haruka, Miyu, Nanami
ja male: Haruto, Sota, Yuto, Riku, Kaito, Ren, Hiroshi, Takumi, Kenta, Daiki
ja family: Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura, Kobayashi, Kato, Yoshida
"""  # noqa: RUF001 (Turkish names have a dotless i)


def _names(table):
    """{"en": [female names, male names, family names], ...}"""
    names = {}
    for line in table.strip().splitlines():
        culture_and_kind, listed = line.split(": ")
        names.setdefault(culture_and_kind.split()[0], []).append(listed.split(", "))
    return names


NAMES = _names(_NAME_TABLE)

CATEGORIES = ["Electronics", "Fashion", "Home", "Beauty", "Sports", "Books", "Grocery", "Toys"]
# fmt: off
PRODUCTS = [  # name, category, price in USD
    ("Wireless Earbuds", "Electronics", 79.99), ("Smartwatch", "Electronics", 199.0),
    ("Phone Case", "Electronics", 19.99), ("USB-C Charger", "Electronics", 24.99),
    ("Bluetooth Speaker", "Electronics", 59.99), ("Running Shoes", "Fashion", 89.95),
    ("Denim Jacket", "Fashion", 69.0), ("Cotton T-Shirt", "Fashion", 15.0), ("Leather Wallet", "Fashion", 39.5),
    ("Sunglasses", "Fashion", 120.0), ("Coffee Maker", "Home", 99.0), ("Scented Candle", "Home", 18.0),
    ("Throw Blanket", "Home", 45.0), ("Desk Lamp", "Home", 34.99), ("Face Serum", "Beauty", 29.0),
    ("Lipstick", "Beauty", 22.0), ("Shampoo", "Beauty", 12.5), ("Yoga Mat", "Sports", 35.0),
    ("Water Bottle", "Sports", 14.99), ("Dumbbell Set", "Sports", 149.0), ("Cookbook", "Books", 24.0),
    ("Mystery Novel", "Books", 13.99), ("Travel Guide", "Books", 19.5), ("Coffee Beans", "Grocery", 16.0),
    ("Green Tea", "Grocery", 8.5), ("Olive Oil", "Grocery", 11.0), ("Building Blocks", "Toys", 49.99),
    ("Jigsaw Puzzle", "Toys", 21.0),
]
# fmt: on
# fmt: off
SEARCHES = ["shoes", "headphones", "gift for mom", "coffee", "summer dress", "phone charger", "yoga", "lamp", "sale",
            "kids toys", "skincare", "backpack", "novel", "tea", "watch"]
# fmt: on
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]

BROWSERS = ["chrome", "safari", "firefox", "edge", "opera", "kaios"]
BROWSER_WEIGHTS = [60, 15, 10, 10, 4, 1]
_CHROMIUM = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
USER_AGENTS = {
    "chrome": f"{_CHROMIUM} Safari/537.36",
    "safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15",
    "firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "edge": f"{_CHROMIUM} Safari/537.36 Edg/131.0.0.0",
    "opera": f"{_CHROMIUM} Safari/537.36 OPR/115.0.0.0",
    "kaios": "Mozilla/5.0 (Mobile; Nokia 8110 4G; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
}
# fmt: off
ANDROID_PHONES = [
    ("Samsung", "Galaxy S24"), ("Samsung", "Galaxy A54"), ("Google", "Pixel 8"), ("Google", "Pixel 7a"),
    ("Xiaomi", "Redmi Note 13"), ("OnePlus", "12"), ("Motorola", "Moto G84"), ("OPPO", "Reno11"),
]
# fmt: on
IPHONES = ["iPhone 12", "iPhone 13", "iPhone 14 Pro", "iPhone 15", "iPhone 15 Pro Max", "iPhone SE"]
APP_VERSIONS = ["4.2.0", "4.3.1", "4.4.0", "4.5.2"]
PUSH_CATEGORIES = ["offers", "new_arrivals", "order_updates", "news"]

Platform, Status = Device.Platform, Device.PushStatus
# What a browser or app says of push permission, and how often (seed 002: Unsupported is
# a browser without Web Push; Suspended is a device whose person moved to another profile).
WEB_STATUSES = ([Status.ALLOWED, Status.ASK, Status.BLOCKED, Status.UNSUPPORTED, Status.SUSPENDED], [50, 20, 17, 7, 6])
APP_STATUSES = ([Status.ALLOWED, Status.ASK, Status.BLOCKED, Status.SUSPENDED], [65, 10, 20, 5])
# The first profiles after the test ones each get one of these devices first, so even
# a small seed has every platform, browser and push status.
COVERAGE = [
    (Platform.WEB, "chrome", Status.ALLOWED),
    (Platform.WEB, "firefox", Status.ASK),
    (Platform.WEB, "safari", Status.BLOCKED),
    (Platform.WEB, "kaios", Status.UNSUPPORTED),
    (Platform.WEB, "edge", Status.SUSPENDED),
    (Platform.WEB, "opera", Status.ALLOWED),
    (Platform.ANDROID, "", Status.ALLOWED),
    (Platform.IOS, "", Status.ALLOWED),
    (Platform.ANDROID, "", Status.BLOCKED),
    (Platform.IOS, "", Status.SUSPENDED),
]
# When people open the app, by local hour (0-23).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 4, 6, 6, 5, 5, 7, 6, 5, 5, 5, 6, 8, 10, 11, 10, 7, 3]

# The order of the rows _World draws.
PROFILE_COLUMNS = [
    *("identity", "name", "email", "phone", "properties", "date_of_birth", "age", "gender"),
    *("country", "region", "city", "latitude", "longitude", "timezone", "language"),
    *("email_unsubscribed", "sms_unsubscribed", "is_test", "last_seen_at"),
]
DEVICE_COLUMNS = [
    *("platform", "browser", "client_id", "endpoint", "p256dh", "auth", "token", "push_status", "categories"),
    *("app_version", "make", "model", "os_version", "sdk_version", "user_agent", "last_seen_at", "retired_at"),
]
EVENT_COLUMNS = ["name", "properties", "occurred_at"]


def seed(stdout, profiles=DEFAULT_PROFILES, **options):
    """Create demo profiles ``demo-0000001`` … up to ``profiles``, skipping the ones
    that exist, with their devices and events; register their property names."""
    started = time.monotonic()
    postgresql = connection.vendor == "postgresql"
    load = _copy if postgresql else _bulk_create
    world = _World(timezone.now())
    any_existing = Profile.objects.filter(identity__startswith="demo-").exists()
    created = skipped = rows = 0
    last_report = started
    if postgresql:
        # Django's foreign keys are INITIALLY DEFERRED: left so, PostgreSQL would queue
        # one check per row in memory and run millions of them at COMMIT. Checked at
        # the end of each COPY instead, the queue stays one block long.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for first in range(1, profiles + 1, BLOCK):
        count = min(BLOCK, profiles + 1 - first)
        existing = set()
        if any_existing:
            identities = [IDENTITY.format(index) for index in range(first, first + count)]
            existing = set(Profile.objects.filter(identity__in=identities).values_list("identity", flat=True))
            skipped += len(existing)
        # A block whose people all exist is not drawn at all (each block has its own
        # generator, so the others come out the same).
        if len(existing) < count:
            people = [p for p in world.people(first, count) if p[0][0] not in existing]
            rows += load(people, world.now)
            created += len(people)
        if time.monotonic() - last_report > 5:
            last_report = time.monotonic()
            elapsed = last_report - started
            stdout.write(
                f"  demo audience: {created + skipped:,}/{profiles:,} profiles, {rows:,} rows written"
                f" in {elapsed:,.0f} s ({rows / elapsed:,.0f} rows/s)"
            )
            stdout.flush()
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's default
            # The seed is one transaction, so autovacuum cannot analyze what it wrote
            # before it commits: the planner would think these tables empty, and the
            # demo campaigns' queries after this (the scheduled one's personalisation
            # check) picked nested loops that ran for tens of minutes on 1,000,000
            # profiles. ANALYZE in the same transaction counts its own rows.
            cursor.execute("ANALYZE segments_profile, segments_device, segments_event")
    note_properties(PropertyDefinition.Scope.PROFILE, [world.profile_shape])
    for name, shape in world.event_shapes.items():
        note_properties(PropertyDefinition.Scope.EVENT, [shape], event_name=name)
    elapsed = time.monotonic() - started
    stdout.write(
        f"Demo audience: {created:,} profiles added, {skipped:,} already there "
        f"({rows:,} rows in {elapsed:,.1f} s, {rows / elapsed:,.0f} rows/s)."
    )


def _copy(people, now):
    """Write one block through COPY. Profile ids come from the table's own sequence
    first, so devices and events can name their profile without reading it back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('segments_profile', 'id')) FROM generate_series(1, %s)",
            [len(people)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        dumps = json.dumps
        columns = ", ".join(["id", *PROFILE_COLUMNS, "created_at", "updated_at"])
        with cursor.copy(f"COPY segments_profile ({columns}) FROM STDIN") as copy:
            for pk, (profile, _, _) in zip(ids, people, strict=True):
                copy.write_row((pk, *profile[:4], dumps(profile[4]), *profile[5:], now, now))
        columns = ", ".join(["profile_id", *DEVICE_COLUMNS, "created_at"])
        with cursor.copy(f"COPY segments_device ({columns}) FROM STDIN") as copy:
            for pk, (_, devices, _) in zip(ids, people, strict=True):
                for d in devices:
                    copy.write_row((pk, *d[:8], dumps(d[8]), *d[9:], now))
        columns = ", ".join(["profile_id", *EVENT_COLUMNS, "received_at"])
        with cursor.copy(f"COPY segments_event ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for pk, (_, _, events) in zip(ids, people, strict=True):
                for name, properties, at in events:
                    write((pk, name, dumps(properties), at, now))
    return len(people) + sum(len(d) + len(e) for _, d, e in people)


def _bulk_create(people, now):
    profiles = Profile.objects.bulk_create(
        [Profile(**dict(zip(PROFILE_COLUMNS, p, strict=True))) for p, _, _ in people]
    )
    devices = [
        Device(profile=profile, **dict(zip(DEVICE_COLUMNS, d, strict=True)))
        for profile, (_, ds, _) in zip(profiles, people, strict=True)
        for d in ds
    ]
    events = [
        Event(profile=profile, name=name, properties=properties, occurred_at=at)
        for profile, (_, _, es) in zip(profiles, people, strict=True)
        for name, properties, at in es
    ]
    Device.objects.bulk_create(devices, batch_size=1000)
    Event.objects.bulk_create(events, batch_size=1000)
    return len(profiles) + len(devices) + len(events)


class _World:
    """Draws people. ``people(first, count)`` gives, for each identity, a tuple of
    (profile row, device rows, event rows) in the column orders above."""

    def __init__(self, now):
        self.now = now
        self.start = now - timedelta(days=HISTORY_DAYS)
        # Each city's offset from UTC today, for waking hours: an hour off for the
        # days across a DST change does not matter for demo activity.
        self.offsets = {c[5]: ZoneInfo(c[5]).utcoffset(now.replace(tzinfo=None)).total_seconds() for c in CITIES}
        self.city_weights = list(accumulate(c[9] for c in CITIES))
        self.hour_weights = list(accumulate(HOUR_WEIGHTS))
        self.browser_weights = list(accumulate(BROWSER_WEIGHTS))
        # Real P-256 public keys, so a demo web device's subscription can be encrypted
        # for (the sandbox provider then sends nothing); shared, as keys need not be unique.
        keys = random.Random("clarion-demo-keys")  # noqa: S311 (demo data, not secrets)
        self.p256dh = [
            _b64(
                ec.derive_private_key(keys.getrandbits(250) + 1, ec.SECP256R1())
                .public_key()
                .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            )
            for _ in range(32)
        ]
        self.profile_shape = {}
        self.event_shapes = {}

    def people(self, first, count):
        rng = random.Random(f"clarion-demo-{first}")  # noqa: S311 (demo data, not secrets)
        return [self.person(rng, index) for index in range(first, first + count)]

    def person(self, rng, index):
        city, region, country, lat, lon, tz, languages, cultures, phone, _ = rng.choices(
            CITIES, cum_weights=self.city_weights
        )[0]
        female, male, family = NAMES[rng.choice(cultures)]
        gender = rng.choices(["female", "male", "other", ""], [48, 48, 2, 2])[0]
        given = rng.choice(female if gender == "female" else male if gender == "male" else female + male)
        full_name = f"{given} {rng.choice(family)}"
        born = self.now.date() - timedelta(days=int(rng.triangular(16, 80, 30) * 365.25))
        age = (self.now.date() - born).days * 100 // 36525
        # Most people gave a date of birth or an age; some gave neither.
        has_birth_date, has_age = rng.random() < 0.6, rng.random() < 0.85
        is_test = index <= TEST_PROFILES
        properties = self.properties(rng)
        devices = self.devices(rng, index)
        events = self.events(rng, tz, properties, {d[0] for d in devices})
        self.profile_shape.update(properties)
        digits = phone.count("#")
        profile = (
            IDENTITY.format(index),
            full_name,
            _email(full_name, index, rng, is_test),
            f"{phone.rstrip('#')}{rng.randrange(10**digits):0{digits}d}",
            properties,
            born if has_birth_date else None,
            age if has_birth_date or has_age else None,
            gender,
            country,
            region,
            city,
            round(lat + rng.uniform(-0.05, 0.05), 5),  # within a few km of the centre
            round(lon + rng.uniform(-0.05, 0.05), 5),
            tz,
            rng.choice(languages),
            rng.random() < 0.08,
            rng.random() < 0.12,
            is_test,
            events[-1][2] if events else None,
        )
        return profile, devices, events

    def properties(self, rng):
        customer_type = rng.choices(["Silver", "Gold", "Platinum"], [60, 30, 10])[0]
        spend = {"Silver": 80, "Gold": 400, "Platinum": 1500}[customer_type]
        signup = self.now.date() - timedelta(days=rng.randrange(HISTORY_DAYS, 3 * 365))
        properties = {
            "customer_type": customer_type,
            "plan": rng.choices(["free", "plus", "premium"], [60, 30, 10])[0],
            "lifetime_value": round(rng.lognormvariate(0, 0.6) * spend, 2),
            "signup_date": signup.isoformat(),
            "newsletter": rng.random() < 0.4,
            "loyalty_points": rng.randrange(0, 5000, 10),
            "interests": rng.sample(CATEGORIES, rng.randint(1, 3)),
        }
        if rng.random() < 0.8:
            properties["favourite_category"] = properties["interests"][0]
        return properties

    def devices(self, rng, index):
        if index <= TEST_PROFILES:
            # A test profile is a team member's own browser and phones: all reachable.
            kinds = [(Platform.WEB, "chrome", Status.ALLOWED), (Platform.ANDROID, "", Status.ALLOWED)]
            kinds.append((Platform.IOS, "", Status.ALLOWED))
        else:
            count = rng.choices([1, 2, 3], [60, 30, 10])[0]
            kinds = [self.device_kind(rng) for _ in range(count)]
            if index - TEST_PROFILES <= len(COVERAGE):
                kinds[0] = COVERAGE[index - TEST_PROFILES - 1]
        return [self.device(rng, *kind) for kind in kinds]

    def device_kind(self, rng):
        platform = rng.choices([Platform.WEB, Platform.ANDROID, Platform.IOS], [45, 35, 20])[0]
        if platform == Platform.WEB:
            statuses, weights = WEB_STATUSES
            return (
                platform,
                rng.choices(BROWSERS, cum_weights=self.browser_weights)[0],
                rng.choices(statuses, weights)[0],
            )
        statuses, weights = APP_STATUSES
        return platform, "", rng.choices(statuses, weights)[0]

    def device(self, rng, platform, browser, status):
        endpoint = p256dh = auth = token = app_version = make = model = os_version = user_agent = ""
        client_id = f"{rng.getrandbits(128):032x}"
        if platform == Platform.WEB:
            sdk_version = "clarion.js 1.0.0"
            user_agent = USER_AGENTS[browser]
            if status == Status.ALLOWED:
                endpoint = _web_push_endpoint(rng, browser)
                p256dh, auth = rng.choice(self.p256dh), _b64(_bytes(rng, 16))
        else:
            app_version = rng.choice(APP_VERSIONS)
            if platform == Platform.ANDROID:
                make, model = rng.choice(ANDROID_PHONES)
                os_version, sdk_version = rng.choice(["12", "13", "14", "15"]), "clarion-android 1.3.0"
                # An FCM registration token: an instance id, a colon, then APA91b…
                token = f"{_b64(_bytes(rng, 16))[:22]}:APA91b{_b64(_bytes(rng, 101))[:134]}"
            else:
                make, model = "Apple", rng.choice(IPHONES)
                os_version, sdk_version = rng.choice(["16.7", "17.5", "18.1", "18.2"]), "clarion-ios 1.3.0"
                token = f"{rng.getrandbits(256):064x}"  # APNs device token, 32 bytes as hex
            if status in (Status.ASK, Status.SUSPENDED):
                token = ""  # not registered yet, or handed over to another profile
        categories = rng.sample(PUSH_CATEGORIES, rng.randint(0, 3)) if status == Status.ALLOWED else []
        seen = self.start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
        # A few allowed tokens were later unregistered (410 / Unregistered from the service).
        retired = seen if status == Status.ALLOWED and rng.random() < 0.03 else None
        return (platform, browser, client_id, endpoint, p256dh, auth, token, status, categories,
                app_version, make, model, os_version, sdk_version, user_agent, seen, retired)  # fmt: skip

    def events(self, rng, tz, properties, platforms):
        """About EVENTS_PER_PROFILE events in sessions spread over the history window,
        at hours people are awake in their own time zone, oldest first."""
        wanted = min(200, max(1, round(rng.expovariate(1 / EVENTS_PER_PROFILE))))
        favourite = properties.get("favourite_category")
        buyer = {"Silver": 0.3, "Gold": 0.5, "Platinum": 0.7}[properties["customer_type"]]
        platforms = sorted(platforms)
        sessions, total = [], 0
        while total < wanted:
            session = self.session(rng, rng.choice(platforms), favourite, buyer)
            sessions.append(session[: wanted - total])  # the last one ends early: they left
            total += len(sessions[-1])
        # Seconds since the window's first UTC midnight; a session starts in the window
        # and at least an hour before now, so its events (seconds apart) are all past.
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        earliest = (self.start - midnight).total_seconds()
        latest = (self.now - midnight).total_seconds() - 3600
        starts = []
        for _ in sessions:
            hour = rng.choices(range(24), cum_weights=self.hour_weights)[0]
            second = rng.randrange(HISTORY_DAYS + 1) * 86400 + hour * 3600 + rng.randrange(3600) - self.offsets[tz]
            starts.append(min(max(second, earliest), latest))
        events = []
        for start, session in sorted(zip(starts, sessions, strict=True), key=lambda pair: pair[0]):
            at = midnight + timedelta(seconds=int(start))
            for name, props in session:
                at += timedelta(seconds=rng.randrange(5, 90))
                events.append((name, props, at))
                if name not in self.event_shapes:
                    self.event_shapes[name] = props
        return events

    def session(self, rng, platform, favourite, buyer):
        if platform == Platform.WEB:
            session = [("Page Viewed", {"path": "/", "title": "Home", "referrer": rng.choice(["", "google", "email"])})]
        else:
            session = [("App Launched", {"platform": platform, "source": rng.choices(["icon", "push"], [85, 15])[0]})]
        if rng.random() < 0.3:
            session.append(("Searched", {"query": rng.choice(SEARCHES), "results": rng.randrange(0, 60)}))
        cart = []
        for _ in range(rng.choices([0, 1, 2, 3, 4], [20, 30, 25, 15, 10])[0]):
            product, category, price = rng.choice(PRODUCTS)
            if favourite and rng.random() < 0.4:
                product, category, price = rng.choice([p for p in PRODUCTS if p[1] == favourite])
            session.append(("Product Viewed", {"product": product, "category": category, "price": price}))
            if rng.random() < 0.25:
                quantity = rng.choices([1, 2, 3], [80, 15, 5])[0]
                cart.append((price, quantity))
                item = {"product": product, "category": category, "price": price, "quantity": quantity}
                session.append(("Added To Cart", item))
            elif rng.random() < 0.05:
                session.append(("Added To Wishlist", {"product": product, "category": category, "price": price}))
        if cart and rng.random() < buyer:
            amount = round(sum(price * quantity for price, quantity in cart), 2)
            items = sum(quantity for _, quantity in cart)
            session.append(("Checkout Started", {"amount": amount, "items": items}))
            if rng.random() < 0.85:
                method = rng.choices(["card", "paypal", "apple_pay", "google_pay"], [60, 20, 10, 10])[0]
                charged = {"amount": amount, "currency": "USD", "items": items, "payment_method": method}
                session.append(("Charged", charged))
        if platform != Platform.WEB and rng.random() < 0.02:
            session.append(("App Rated", {"rating": rng.choices([1, 2, 3, 4, 5], [5, 5, 10, 30, 50])[0]}))
        return session


def _web_push_endpoint(rng, browser):
    """An endpoint of the push service each browser really uses (RFC 8030 URLs)."""
    if browser in ("chrome", "opera"):
        return f"https://fcm.googleapis.com/fcm/send/{_b64(_bytes(rng, 16))[:22]}:APA91b{_b64(_bytes(rng, 101))[:134]}"
    if browser == "safari":
        return f"https://web.push.apple.com/{_b64(_bytes(rng, 96))}"
    if browser == "edge":
        return f"https://wns2-par02p.notify.windows.com/w/?token={_b64(_bytes(rng, 120))}"
    return f"https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB{_b64(_bytes(rng, 120))}"


def _email(full_name, index, rng, is_test):
    if is_test:
        return f"qa+{index}@example.com"
    ascii_name = unicodedata.normalize("NFKD", full_name).encode("ascii", "ignore").decode().lower()
    local = ".".join(ascii_name.replace("-", "").split())
    return f"{local}{index}@{rng.choice(EMAIL_DOMAINS)}"


def _bytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "big")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
