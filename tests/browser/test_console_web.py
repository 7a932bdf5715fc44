"""The web console in a real headless Chromium, checked through the CLI (issue 16's Tests).

One controller for the module; each test logs in afresh. Every tab is screenshotted into
.cache/console-screenshots/.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from protos import common_pb2
from tests.dates import at
from tests.integration.harness import Datacenter, account, advance, client, rpc_error, uai

TABS = ["accueil", "serveur", "clients", "pronote-net", "archives", "compte"]
ATTACKER = "127.64.0.20"


def url(dc: Datacenter, path: str) -> str:
    return f"http://{dc.http_address}/console/{path.lstrip('/')}"


def wait(driver: WebDriver, condition: Any, timeout: float = 15.0) -> Any:
    """Wait for `condition()`; on a timeout, say what the page showed."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda _: condition())
    except TimeoutException:
        shown = driver.find_element(By.TAG_NAME, "body").text[:1500]
        raise AssertionError(f"not met in {timeout} s on {driver.current_url}:\n{shown}") from None


def text(driver: WebDriver, css: str = "main") -> str:
    """The text of `css`, read in one script call (the live parts are swapped every few
    seconds, so an element found then read may be gone in between)."""
    shown = driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css
    )
    if shown is None:
        body = driver.find_element(By.TAG_NAME, "body").text[:1500]
        raise AssertionError(f"no {css} on {driver.current_url}:\n{body}")
    return str(shown)


def shoot(driver: WebDriver, path: Path) -> None:
    """A screenshot of the whole page (the window grows to the page's height, then back)."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1280, min(max(height, 900), 4000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)


def submit(driver: WebDriver, form_css: str) -> None:
    """Send a form with its button and wait for the page that answers it."""
    button = driver.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]")
    driver.execute_script("window.pdcPageBeforeSubmit = true")
    button.click()
    next_page(driver)


def next_page(driver: WebDriver) -> None:
    """Wait until the window holds a new, loaded document (the marker set before is gone)."""
    WebDriverWait(driver, 30, poll_frequency=0.1, ignored_exceptions=(WebDriverException,)).until(
        lambda _: driver.execute_script(
            "return document.readyState === 'complete' && !window.pdcPageBeforeSubmit"
        )
    )


def cli_json(dc: Datacenter, *args: str) -> Any:
    return json.loads(dc.cli(*args, "--json").stdout)


def session_cookie(driver: WebDriver) -> dict[str, Any]:
    cookie = driver.get_cookie("pdc_console")
    assert cookie is not None, "no session cookie"
    return cookie


def log_out(driver: WebDriver) -> None:
    driver.delete_all_cookies()


def school_login(
    driver: WebDriver, dc: Datacenter, hosting_number: str, password: str, invoice: str = ""
) -> None:
    driver.get(url(dc, "/"))
    driver.find_element(By.ID, "hosting_number").send_keys(hosting_number)
    driver.find_element(By.ID, "password").send_keys(password)
    if invoice:
        driver.find_element(By.ID, "invoice_number").send_keys(invoice)
    submit(driver, "#login")


def operator_login(driver: WebDriver, dc: Datacenter) -> None:
    driver.get(url(dc, "/operateur/connexion"))
    driver.find_element(By.ID, "token").send_keys(dc.operator_token)
    submit(driver, "#operator-login")
    wait(driver, lambda: "Parc" in driver.title)


def http(dc: Datacenter, path: str, cookie: str = "", data: bytes | None = None) -> tuple[int, str]:
    """A request with a browser's session cookie, as another tab of that browser would send."""
    request = urllib.request.Request(url(dc, path), data=data)
    if cookie:
        request.add_header("Cookie", f"pdc_console={cookie}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def school(datacenter: Datacenter) -> Any:
    """A demo school (base in service, sample accounts) and its console password."""
    return datacenter.provision("0750301")


def test_school_console_every_tab_and_one_action_each(
    browser: WebDriver, datacenter: Datacenter, school: Any, downloads: Path, screenshots: Path
) -> None:
    dc, record, password = datacenter, school.school, school.console_password
    driver = browser
    log_out(driver)
    # A day of backups first (console logins last 8 h of the data-center's clock).
    advance(dc, "2026-12-01T08:00")

    # First login: the invoice number is required, then accepted.
    school_login(driver, dc, record.hosting_number, password)
    assert "invoice number" in text(driver, ".flash.error")
    shoot(driver, screenshots / "00-connexion.png")
    school_login(driver, dc, record.hosting_number, password, record.invoice_number)
    wait(driver, lambda: driver.current_url.endswith(f"/ecoles/{record.uai}/accueil"))
    cookie = session_cookie(driver)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # Later logins need no invoice number.
    log_out(driver)
    school_login(driver, dc, record.hosting_number, password)
    wait(driver, lambda: driver.current_url.endswith("/accueil"))

    # Accueil: this school's name, server state, base in service (as the CLI sees them).
    bases = cli_json(dc, "console", "serveur", "bases", "--uai", record.uai)
    in_service = next(b for b in bases["bases"] if b["in_service"])
    assert record.name in text(driver)
    assert text(driver, "#server-state") == "En service"
    assert text(driver, "#base-in-service") == in_service["name"]
    shoot(driver, screenshots / "01-accueil.png")

    # Serveur PRONOTE: créer une base, seen by the CLI.
    driver.get(url(dc, f"/ecoles/{record.uai}/serveur"))
    assert in_service["name"] in text(driver, "#current-base")
    submit(driver, "form:has(#stop-server)")  # the API: a base is created server stopped
    wait(driver, lambda: text(driver, "#server-state") == "Arrêté")
    driver.find_element(By.CSS_SELECTOR, "#create-base input[name=school_year]").send_keys(
        "2027-2028"
    )
    submit(driver, "#create-base")
    wait(driver, lambda: "2027-2028" in text(driver, "#bases"))
    bases = cli_json(dc, "console", "serveur", "bases", "--uai", record.uai)
    assert any(b["school_year"] == "2027-2028" for b in bases["bases"])
    # Mettre en service again the base that was (the SPR is defined: no SPR fields).
    submit(driver, f"#bases tr[data-base='{in_service['id']}'] form.put-in-service")
    wait(driver, lambda: text(driver, "#server-state") == "En service")
    bases = cli_json(dc, "console", "serveur", "bases", "--uai", record.uai)
    assert next(b for b in bases["bases"] if b["in_service"])["id"] == in_service["id"]
    shoot(driver, screenshots / "02-serveur.png")

    # Clients: reserve a licence (CLI sees it), a live connection appears without reload,
    # an IP suspended by wrong passwords is unblocked from the page.
    driver.get(url(dc, f"/ecoles/{record.uai}/clients"))
    assert text(driver, "#client-parameters").count("49300") == 1
    reserve = driver.find_element(By.CSS_SELECTOR, "#reserve input[name=count]")
    reserve.clear()
    reserve.send_keys("1")
    submit(driver, "#reserve")
    wait(driver, lambda: text(driver, "#licences-reserved") == "1")
    licences = cli_json(dc, "console", "clients", "licences", "--uai", record.uai)
    assert licences["reserved_for_administration"] == 1

    teacher = account(record, "enseignant")
    with client(record.address) as pronote_client:
        mode = common_pb2.MODE_ENSEIGNANT
        session = pronote_client.connect(teacher.login, teacher.password, mode)
        wait(driver, lambda: "Enseignant" in text(driver, "#connections"))
        admin = account(record, "administratif")
        with client(record.address, source_ip=ATTACKER) as attacker:
            for _ in range(5):
                rpc_error(attacker.connect, admin.login, "wrong")
        wait(driver, lambda: ATTACKER in text(driver, "#suspended-ips"))
        shoot(driver, screenshots / "03-clients.png")
        submit(driver, f"#suspended-ips tr[data-ip='{ATTACKER}'] form")
        wait(driver, lambda: "débloquée" in text(driver, ".flash.info"))
        suspended = cli_json(dc, "console", "clients", "suspended-ips", "--uai", record.uai)
        assert ATTACKER not in json.dumps(suspended)
        # Déconnecter the teacher from the page: the CLI sees no teacher any more.
        submit(driver, "#connections tr[data-mode='Enseignant'] form")
        wait(driver, lambda: "déconnecté" in text(driver, ".flash.info"))
        listed = cli_json(dc, "console", "clients", "connections", "--uai", record.uai)
        assert session.session_id not in json.dumps(listed)

    # PRONOTE.net: stop then start the publication, checked by the CLI each time.
    driver.get(url(dc, f"/ecoles/{record.uai}/pronote-net"))
    links = driver.find_elements(By.CSS_SELECTOR, "#espaces a")
    assert any(f"{record.address}:8080/pronote/" in a.get_attribute("href") for a in links)
    submit(driver, "#publication")
    wait(driver, lambda: text(driver, "#publication-state") == "Publication arrêtée")
    assert cli_json(dc, "console", "pronote-net", "--uai", record.uai)["published"] is False
    shoot(driver, screenshots / "04-pronote-net.png")
    submit(driver, "#publication")
    wait(driver, lambda: text(driver, "#publication-state") == "Base publiée")
    assert cli_json(dc, "console", "pronote-net", "--uai", record.uai)["published"] is True

    # Mes archives: download a backup, its SHA-256 as the CLI says.
    listed = cli_json(dc, "console", "mes-archives", "backups", "--uai", record.uai)
    backups = listed["backups"] if isinstance(listed, dict) else listed
    backup = next(b for b in backups if b["kind"] == "archive")
    driver.get(url(dc, f"/ecoles/{record.uai}/archives"))
    assert backup["name"] in text(driver, "#backups")
    shoot(driver, screenshots / "05-archives.png")
    driver.find_element(
        By.CSS_SELECTOR, f"#backups tr[data-name='{backup['name']}'] a.download"
    ).click()
    target = downloads / backup["name"]
    try:
        wait(driver, lambda: target.exists() and target.stat().st_size == int(backup["size"]))
    except AssertionError:
        raise AssertionError(f"{target.name} not in {sorted(downloads.iterdir())}") from None
    assert hashlib.sha256(target.read_bytes()).hexdigest() == backup["sha256"]

    # Mon compte: this school's hosting number and the yearly cycle.
    driver.get(url(dc, f"/ecoles/{record.uai}/compte"))
    assert record.hosting_number in text(driver, "#account")
    assert "Changement de version" in text(driver)
    shoot(driver, screenshots / "06-compte.png")


def test_a_school_session_is_refused_other_schools_and_operator_pages(
    browser: WebDriver, datacenter: Datacenter, school: Any
) -> None:
    dc, driver = datacenter, browser
    other = dc.provision("0750302", demo=False, name="Collège Secret").school
    log_out(driver)
    record = school.school  # the invoice number too: this test may be the school's first login
    school_login(driver, dc, record.hosting_number, school.console_password, record.invoice_number)
    wait(driver, lambda: driver.current_url.endswith("/accueil"))
    cookie = session_cookie(driver)["value"]

    for tab in TABS:
        status, body = http(dc, f"/ecoles/{other.uai}/{tab}", cookie)
        assert status == 403, tab
        assert other.name not in body and other.hosting_number not in body
    for page in ["/operateur/", "/operateur/commandes", "/operateur/horloge"]:
        status, _ = http(dc, page, cookie)
        assert status == 403, page
    status, _ = http(dc, f"/operateur/ecoles/{school.school.uai}/resume", cookie)
    assert status == 403
    driver.get(url(dc, f"/ecoles/{other.uai}/accueil"))
    assert "Refusé" in driver.title and other.name not in driver.page_source


def test_a_form_without_its_csrf_token_is_refused(
    browser: WebDriver, datacenter: Datacenter, school: Any
) -> None:
    dc, driver, record = datacenter, browser, school.school
    log_out(driver)
    school_login(driver, dc, record.hosting_number, school.console_password, record.invoice_number)
    wait(driver, lambda: driver.current_url.endswith("/accueil"))
    before = cli_json(dc, "console", "clients", "licences", "--uai", record.uai)
    driver.get(url(dc, f"/ecoles/{record.uai}/clients"))
    driver.execute_script("document.querySelector('#reserve input[name=csrf]').remove()")
    field = driver.find_element(By.CSS_SELECTOR, "#reserve input[name=count]")
    field.clear()
    field.send_keys("3")
    submit(driver, "#reserve")
    wait(driver, lambda: "Formulaire refusé" in driver.title)
    after = cli_json(dc, "console", "clients", "licences", "--uai", record.uai)
    assert after["reserved_for_administration"] == before["reserved_for_administration"]
    cookie = session_cookie(driver)["value"]
    status, _ = http(dc, f"/ecoles/{record.uai}/clients/reserver", cookie, data=b"count=3")
    assert status == 403


def test_operator_provisions_a_school_and_sees_the_fleet_live(
    browser: WebDriver, datacenter: Datacenter, screenshots: Path
) -> None:
    dc, driver = datacenter, browser
    log_out(driver)
    operator_login(driver, dc)
    new = uai("0750303")
    driver.find_element(By.ID, "provision-uai").send_keys(new)
    driver.find_element(By.ID, "provision-name").send_keys("Lycée Henri-IV")
    driver.find_element(By.ID, "provision-mobile").send_keys("0612345678")
    driver.find_element(By.ID, "provision-email").send_keys("ce.0750303@ac-paris.fr")
    submit(driver, "#provision")
    wait(driver, lambda: "affiché une seule fois" in text(driver, ".flash.secret"), 30)
    assert new in text(driver, "#fleet")
    listed = cli_json(dc, "school", "list")
    assert any(s["uai"] == new for s in listed)

    # A school provisioned elsewhere (the CLI) appears on the open page without a reload.
    later = uai("0750304")
    dc.cli("school", "add", later, "--name", "Collège Colette", "--formula", "30",
           "--mobile", "0612345678", "--email", "ce@example.org")  # fmt: skip
    wait(driver, lambda: later in text(driver, "#fleet"), 20)
    wait(driver, lambda: "…" not in text(driver, f"#fleet tr[data-uai='{new}'] .summary"))
    grafana = driver.find_element(By.CSS_SELECTOR, f"#fleet tr[data-uai='{new}'] a.grafana")
    assert str(grafana.get_attribute("href")).endswith(f"/d/pronote-school/?var-uai={new}")
    driver.find_element(By.CSS_SELECTOR, f"#fleet tr[data-uai='{new}'] td a").click()
    wait(driver, lambda: driver.current_url.endswith(f"/ecoles/{new}/accueil"))
    assert "Lycée Henri-IV" in text(driver)
    driver.back()
    wait(driver, lambda: "Parc" in driver.title)
    shoot(driver, screenshots / "07-operateur-parc.png")
    pages = [("commandes", "08-operateur-commandes"), ("horloge", "09-operateur-horloge")]
    for page, name in pages:
        driver.get(url(dc, f"/operateur/{page}"))
        shoot(driver, screenshots / f"{name}.png")
    assert "simulée" in text(driver, "#clock")


def test_charger_une_base_streams_the_hnot_with_a_progress_bar(
    browser: WebDriver, datacenter: Datacenter, tmp_path: Path, screenshots: Path
) -> None:
    dc, driver = datacenter, browser
    provisioned = dc.provision("0750305")
    record = provisioned.school
    dc.cli("hnot", "generate", "--uai", record.uai, "--hosting-number", record.hosting_number,
           "-o", str(tmp_path))  # fmt: skip
    hnot = next(tmp_path.glob("*.HNOT"))
    log_out(driver)
    school_login(driver, dc, record.hosting_number, provisioned.console_password,
                 record.invoice_number)  # fmt: skip
    wait(driver, lambda: driver.current_url.endswith("/accueil"))
    driver.get(url(dc, f"/ecoles/{record.uai}/serveur"))
    submit(driver, "form:has(#stop-server)")  # a base is loaded server stopped
    driver.find_element(By.ID, "upload-file").send_keys(str(hnot))
    # console.js sends it with XMLHttpRequest: the bar fills, then the tab reloads.
    submit(driver, "#upload")
    wait(driver, lambda: "Charger une base" in text(driver, ".flash.info"))
    shoot(driver, screenshots / "02b-serveur-charger.png")
    other = cli_json(dc, "console", "serveur", "other-bases", "--uai", record.uai)
    bases = other["bases"] if isinstance(other, dict) else other
    assert any("depuis l'établissement" in b["liste"] for b in bases), bases

    # Mon compte > Recevoir mes identifiants: an SMS and an e-mail in the outbox (CLI).
    driver.get(url(dc, f"/ecoles/{record.uai}/compte"))
    submit(driver, "form:has(#resend)")
    wait(driver, lambda: "envoyé par SMS" in text(driver, ".flash.info"))
    sent = cli_json(dc, "order", "outbox", "--uai", record.uai)
    assert {m["channel"] for m in sent} == {"sms", "email"}


def test_operator_orders_and_clock_pages(browser: WebDriver, datacenter: Datacenter) -> None:
    """Place an order, return its proforma, activate it; advance the simulated clock."""
    dc, driver = datacenter, browser
    log_out(driver)
    operator_login(driver, dc)
    driver.get(url(dc, "/operateur/commandes"))
    ordered = uai("0750306")
    for name, value in [
        ("client_number", "50623"), ("uai", ordered), ("name", "Lycée Condorcet"),
        ("responsable", "M. Martin"), ("mobile", "0612345678"), ("email", "ce@example.org"),
    ]:  # fmt: skip
        driver.find_element(By.CSS_SELECTOR, f"#place-order [name={name}]").send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "#place-order [name=contract]").click()
    submit(driver, "#place-order")
    wait(driver, lambda: "proforma" in text(driver, ".flash.info"))
    order_id = driver.find_element(By.CSS_SELECTOR, "#orders tbody tr").get_attribute("data-order")
    submit(driver, f"#orders tr[data-order='{order_id}'] form[action$=accepter]")
    submit(driver, f"#orders tr[data-order='{order_id}'] form[action$=activer]")
    wait(driver, lambda: "activée" in text(driver, ".flash.info"), 60)
    assert any(s["uai"] == ordered for s in cli_json(dc, "school", "list"))
    driver.get(url(dc, "/operateur/messages"))
    assert ordered in text(driver, "#outbox")

    # "Recevoir mon n° de facture" on the login page: client number and UAI, no session.
    before = len(cli_json(dc, "order", "outbox", "--uai", ordered))
    log_out(driver)
    driver.get(url(dc, "/"))
    driver.find_element(By.CSS_SELECTOR, "details summary").click()
    driver.find_element(By.CSS_SELECTOR, "#resend-invoice [name=uai]").send_keys(ordered)
    driver.find_element(By.CSS_SELECTOR, "#resend-invoice [name=client_number]").send_keys("50623")
    submit(driver, "#resend-invoice")
    wait(driver, lambda: "ce@example.org" in text(driver, ".flash.info"))
    assert len(cli_json(dc, "order", "outbox", "--uai", ordered)) == before + 2
    operator_login(driver, dc)

    # Supprimer it from the fleet (after the confirmation box): the CLI no longer lists it.
    driver.get(url(dc, "/operateur/"))
    driver.find_element(By.CSS_SELECTOR, f"#fleet tr[data-uai='{ordered}'] [name=confirm]").click()
    submit(driver, f"#fleet tr[data-uai='{ordered}'] form.remove")
    wait(driver, lambda: "supprimée" in text(driver, ".flash.info"), 60)
    assert not any(s["uai"] == ordered for s in cli_json(dc, "school", "list"))

    driver.get(url(dc, "/operateur/horloge"))
    driver.find_element(By.CSS_SELECTOR, "#advance [name=to]").send_keys("2026-12-01T10:00")
    submit(driver, "#advance")
    wait(driver, lambda: "Horloge avancée" in text(driver, ".flash.info"))
    assert "01/12/26 10:00" in text(driver, "#clock-now")
    assert cli_json(dc, "clock", "show")["now_seconds"] == at("2026-12-01T10:00")


def test_first_mise_en_service_defines_the_spr(browser: WebDriver, datacenter: Datacenter) -> None:
    """A new school (no base yet): Créer une base, then Mettre en service with the SPR's
    login and password, asked the first time only (seed 004 Fiche 2)."""
    dc, driver = datacenter, browser
    provisioned = dc.provision("0750307", demo=False, name="Collège Neuf")
    record = provisioned.school
    log_out(driver)
    school_login(driver, dc, record.hosting_number, provisioned.console_password,
                 record.invoice_number)  # fmt: skip
    wait(driver, lambda: driver.current_url.endswith("/accueil"))
    assert "Aucune base en service" in text(driver, "#alerts")
    driver.get(url(dc, f"/ecoles/{record.uai}/serveur"))
    driver.find_element(By.CSS_SELECTOR, "#create-base [name=school_year]").send_keys("2026-2027")
    submit(driver, "#create-base")
    row = "#bases tbody tr:first-child form.put-in-service"
    driver.find_element(By.CSS_SELECTOR, f"{row} [name=spr_login]").send_keys("spr")
    driver.find_element(By.CSS_SELECTOR, f"{row} [name=spr_password]").send_keys("Sp3r-Admin!")
    submit(driver, row)
    wait(driver, lambda: text(driver, "#server-state") == "En service")
    bases = cli_json(dc, "console", "serveur", "bases", "--uai", record.uai)
    assert [b["spr_login"] for b in bases["bases"] if b["in_service"]] == ["spr"]
    assert not driver.find_elements(By.CSS_SELECTOR, "#bases [name=spr_login]")


def test_delegation_export_and_opening_an_archive(
    browser: WebDriver, datacenter: Datacenter, downloads: Path, screenshots: Path
) -> None:
    """PRONOTE.net: delegate the parents' espace to an ENT of the catalogue, export the
    identifiers file; Mes archives: open an archive after confirming, server stopped."""
    dc, driver = datacenter, browser
    provisioned = dc.provision("0750308")
    record = provisioned.school
    now = cli_json(dc, "clock", "show")["now_seconds"]  # 3 h of sauvegardes, before the login
    later = datetime.datetime.fromtimestamp(now + 3 * 3600, tz=datetime.UTC)
    advance(dc, later.strftime("%Y-%m-%dT%H:%M"))
    log_out(driver)
    school_login(driver, dc, record.hosting_number, provisioned.console_password,
                 record.invoice_number)  # fmt: skip
    wait(driver, lambda: driver.current_url.endswith("/accueil"))

    driver.get(url(dc, f"/ecoles/{record.uai}/pronote-net"))
    submit(driver, "#publication")  # Arrêter la publication: the delegation needs it
    ent = driver.find_element(By.CSS_SELECTOR, "#set-delegation [name=ent] option")
    ent_name = ent.text
    driver.find_element(By.CSS_SELECTOR, "#set-delegation [value=parent]").click()
    submit(driver, "#set-delegation")
    wait(driver, lambda: ent_name in text(driver, "#delegation"))
    publication = cli_json(dc, "console", "pronote-net", "--uai", record.uai)
    assert publication["delegation"]["espaces"] == ["parent"]
    assert publication["delegation"]["ent_name"] == ent_name
    shoot(driver, screenshots / "04b-pronote-net-delegation.png")
    driver.find_element(By.ID, "export-identifiers").click()
    wait(driver, lambda: any(p.suffix == ".xml" for p in downloads.iterdir()), 30)

    driver.get(url(dc, f"/ecoles/{record.uai}/serveur"))
    submit(driver, "form:has(#stop-server)")  # an archive opens server stopped
    driver.get(url(dc, f"/ecoles/{record.uai}/archives"))
    name = driver.find_element(By.CSS_SELECTOR, "#backups tbody tr").get_attribute("data-name")
    row = f"#backups tr[data-name='{name}'] form.open-backup"
    driver.find_element(By.CSS_SELECTOR, f"{row} [name=confirm]").click()
    submit(driver, row)
    wait(driver, lambda: "est ouverte" in text(driver, ".flash.info"))
    history = cli_json(dc, "console", "serveur", "history", "--uai", record.uai)
    assert history[-1]["action"] == "backup_opened"


def test_a_crashed_tab_costs_one_test_not_the_module(chromium: Any) -> None:
    """The tier's own fixture: after a tab crash (chrome://crash, as a renderer dies), the next
    test gets a Chromium that answers, not the dead one until pytest's timeout."""
    crashed = chromium.driver()
    with pytest.raises(WebDriverException):
        crashed.get("chrome://crash")
    restarts = chromium.restarts
    fresh = chromium.driver()
    assert chromium.restarts == restarts + 1 and fresh is not crashed
    assert fresh.execute_script("return 6 * 7") == 42
