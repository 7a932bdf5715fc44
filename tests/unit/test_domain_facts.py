"""Every fact of the domain (docs/DOMAIN.md) names the test that checks it.

The map is the index a reader uses to find where a rule is tested; the test below keeps it
honest: every named test must exist, so a renamed or deleted test breaks the map loudly.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

# DOMAIN.md section -> (fact, "<file under tests/>::<test function>")
FACTS: dict[str, list[tuple[str, str]]] = {
    "UAI check letter": [
        (
            "the letter is the 7 digits modulo 23",
            "unit/test_uai.py::test_check_letter_is_the_digits_modulo_23",
        ),
        ("23 letters, no I, O, Q", "unit/test_uai.py::test_check_letters_skip_i_o_q"),
        ("0750655E is valid", "unit/test_uai.py::test_domain_example_is_valid"),
    ],
    "Ordering hosting": [
        (
            "formulas 30/50/80/unlimited at 350/450/650/850 HT",
            "unit/test_ordering.py::test_every_formula_is_priced_as_domain_md",
        ),
        (
            "650 HT at 19.6 % is 777.40 TTC",
            "unit/test_ordering.py::test_the_seeds_proforma_exactly",
        ),
        (
            "the VAT rate in force on the proforma's day",
            "unit/test_ordering.py::test_the_rate_in_force_on_the_proformas_day_applies",
        ),
        (
            "the mobile is mandatory",
            "unit/test_ordering.py::test_the_mobile_is_mandatory_and_must_be_a_mobile",
        ),
        (
            "the mobile is stored without its leading 0",
            "unit/test_fleet.py::test_mobile_is_stored_without_the_leading_zero",
        ),
        (
            "a proforma valid until a date",
            "unit/test_ordering.py::test_placing_an_order_sends_the_proforma_valid_thirty_days",
        ),
        (
            "activation needs the returned proforma",
            "unit/test_ordering.py::test_activation_needs_the_returned_proforma",
        ),
        (
            "hosting number of 12 digits",
            "unit/test_registry.py::test_hosting_number_is_twelve_digits_starting_with_the_date",
        ),
        (
            "hosting number by e-mail, password by SMS, invoice number by e-mail",
            "integration/test_ordering.py::test_order_to_console_login",
        ),
        (
            "the hosting licence expires; renewal is a new proforma",
            "unit/test_ordering.py::test_a_renewal_adds_a_year_to_a_running_licence_or_restarts_a_lapsed_one",
        ),
    ],
    "Console login": [
        (
            "credentials can be re-sent",
            "integration/test_ordering.py::test_order_to_console_login",
        ),
        (
            "the first login also needs the invoice number",
            "integration/test_console_scope.py::test_first_login_needs_the_invoice_number_and_later_ones_do_not",
        ),
        (
            "a console session sees only its own school",
            "integration/test_console_scope.py::test_a_school_login_cannot_touch_another_school",
        ),
        (
            "only the school's own login or the operator",
            "unit/test_auth.py::test_require_school_refuses_another_school",
        ),
    ],
    "What the data-center hosts": [
        (
            "one server per school, on its own address",
            "contract/test_runtime_contract.py::test_a_started_school_serves_on_its_address_and_stops",
        ),
        (
            "one container per school with its own IP",
            "docker/test_fleet_docker.py::test_twenty_schools_run_as_containers_each_on_its_own_ip",
        ),
    ],
    "Bases": [
        (
            "example: 35 profs, 46 matières, 16 classes, 60 groupes, 422 élèves, 38 salles",
            "unit/test_synthetic.py::test_the_domain_example_is_a_full_school",
        ),
        (
            "a base shows its counters",
            "integration/test_synthetic_school.py::test_console_bases_shows_the_counters_of_the_synthetic_school",
        ),
        (
            "Charger, Compléter, Récupérer les utilisateurs, Autres bases, Historique",
            "integration/test_base_files.py::test_generate_load_open_complete_recover_then_users_log_in",
        ),
        (
            "the .HNOT is made for one hosting number; bad files change nothing",
            "integration/test_base_files.py::test_every_bad_file_is_refused_and_nothing_changes",
        ),
        (
            "initialise a base from EDT (.zip), choosing the published espaces",
            "integration/test_base_files.py::test_a_base_initialised_from_edt_and_hostile_zips",
        ),
        (
            "#RGPD: 1 user = 1 login + 1 generated password",
            "integration/test_synthetic_school.py::test_issued_passwords_authenticate_and_unknown_logins_change_nothing",
        ),
        (
            "a new server is stopped with no base",
            "unit/test_school.py::test_a_new_server_is_stopped_with_no_base",
        ),
        (
            "creating a base requires the server stopped",
            "unit/test_school.py::test_create_base_needs_the_server_stopped",
        ),
        (
            "opening another base requires the server stopped",
            "unit/test_school.py::test_another_base_needs_the_server_stopped",
        ),
        (
            "the SPR is defined at the first mise en service",
            "unit/test_school.py::test_first_mise_en_service_defines_the_spr",
        ),
        (
            "a stopped server refuses clients",
            "unit/test_school.py::test_a_stopped_server_refuses_connections",
        ),
    ],
    "Backups and archives": [
        (
            "a sauvegarde every 2 h, an archive every day",
            "unit/test_backup_plan.py::test_a_sauvegarde_every_two_hours_and_an_archive_every_day",
        ),
        (
            "12 sauvegardes kept",
            "unit/test_backup_plan.py::test_after_three_days_the_last_12_sauvegardes_and_3_archives",
        ),
        (
            "30 archives kept",
            "unit/test_backup_plan.py::test_after_40_days_the_30_last_daily_archives",
        ),
        (
            "names as the console shows them",
            "unit/test_backup_plan.py::test_names_follow_the_console_examples",
        ),
        (
            "the early-July archive is kept for next year",
            "unit/test_backup_plan.py::test_the_july_archive_survives_the_30_day_rule_until_the_next_one",
        ),
        (
            "restore: server stopped, open, then mise en service",
            "integration/test_backups.py::test_opening_a_backup_restores_the_bases_as_they_were",
        ),
        (
            "archives can be downloaded",
            "integration/test_backups.py::test_an_archive_is_downloaded_with_its_checksum",
        ),
    ],
    "Licences and connections": [
        (
            "PRONOTE.net appears as one connection",
            "integration/test_pronote_net_clients.py::test_web_sessions_show_under_pronote_net_and_take_no_licence",
        ),
        (
            "Clients: address + port 49300",
            "integration/test_pronote_net.py::test_the_clients_panel_gives_the_connection_parameters",
        ),
        (
            "administratif licences are capped (4 by default)",
            "unit/test_licences.py::test_modification_licences_fill_up_to_capacity_then_refuse",
        ),
        (
            "Client EDT takes a licence en modification",
            "unit/test_licences.py::test_edt_sessions_take_modification_licences_too",
        ),
        (
            "enseignant and vie scolaire do not",
            "unit/test_licences.py::test_enseignant_and_vie_scolaire_do_not_take_modification_licences",
        ),
        (
            "reserved licences for the Administration group",
            "unit/test_school.py::test_reserved_licence_keeps_a_place_for_administration",
        ),
        (
            "the formula caps the number of teachers",
            "unit/test_fleet.py::test_formulas_cap_teachers",
        ),
        (
            "suivi des connexions lists live connections",
            "unit/test_school.py::test_connect_opens_a_session_listed_in_connections",
        ),
        (
            "an operator can disconnect a client",
            "unit/test_school.py::test_disconnect_frees_the_licence",
        ),
    ],
    "Yearly cycle": [
        (
            "pre-version requested in July, until ~20 July",
            "unit/test_year_cycle.py::test_the_preversion_is_requested_between_6_and_20_july",
        ),
        (
            "automatic switch between 21 and 24 August",
            "unit/test_year_cycle.py::test_each_school_switches_on_its_own_day_between_21_and_24_august",
        ),
        (
            "last year's base in service -> a new empty base",
            "unit/test_year_cycle.py::test_last_years_base_is_replaced_by_an_empty_one_with_the_spr",
        ),
        (
            "the switch can be deferred, keeping the base in service",
            "unit/test_year_cycle.py::test_a_deferral_keeping_the_base_keeps_last_years",
        ),
        (
            "a deferral goes to a chosen date",
            "unit/test_year_cycle.py::test_a_deferral_goes_to_a_date_of_the_rentree_window",
        ),
        (
            "recover last year's data, choosing the kinds",
            "unit/test_year_cycle.py::test_last_years_data_comes_back_by_the_kinds_chosen",
        ),
        (
            "every data kind of seed 003",
            "unit/test_year_cycle.py::test_every_kind_of_seed_003_can_be_chosen",
        ),
        (
            "a school year for five schools, both switch outcomes",
            "integration/test_school_year.py::test_a_school_year_for_five_schools",
        ),
        (
            "the hosting licence expires on a date",
            "unit/test_ordering.py::test_the_licence_runs_one_year",
        ),
        (
            "the formula caps teachers, Espace Professeurs included",
            "integration/test_pronote_net_acts_fleet.py::test_teachers_on_the_espace_professeurs_take_teacher_licences",
        ),
    ],
    "PRONOTE.net and the ENT": [
        (
            "publication is on by default",
            "integration/test_pronote_net.py::test_publication_is_on_by_default_with_every_page_published",
        ),
        (
            "Arrêter la publication / Publier la base",
            "integration/test_pronote_net.py::test_stop_and_publish_are_saved_with_the_school_across_a_restart",
        ),
        (
            "changing publication parameters requires publication stopped",
            "integration/test_pronote_net.py::test_publication_parameters_change_only_while_publication_is_stopped",
        ),
        (
            "every espace and its mobile twin at the school's address",
            "integration/test_pronote_net.py::test_every_espace_and_its_mobile_twin_has_an_address_at_the_school",
        ),
        (
            "delegation by CAS, EduConnect, SAML2, WS-Federation",
            "integration/test_pronote_net.py::test_each_delegation_protocol_by_manual_configuration",
        ),
        (
            "an ENT catalogue with those the seeds name",
            "integration/test_pronote_net.py::test_the_catalogue_holds_every_ent_named_in_the_seeds",
        ),
        (
            "optionally keep direct authentication",
            "integration/test_pronote_net.py::test_direct_authentication_can_be_kept_beside_the_ent_or_not",
        ),
        (
            "identifiers exported to the ENT",
            "integration/test_pronote_net.py::test_the_identifiers_export_lists_the_base_users_for_the_ent",
        ),
        (
            "an unpublished espace is refused to real clients",
            "integration/test_pronote_net_clients.py::test_an_unavailable_espace_is_refused_with_a_clear_page",
        ),
        (
            "a delegated espace refuses direct logins unless allowed",
            "integration/test_pronote_net_clients.py::test_an_espace_delegated_to_an_ent_refuses_direct_logins_unless_allowed",
        ),
        (
            "a delegated espace redirects to the ENT's CAS login",
            "integration/test_pronote_net_ent.py::test_a_delegated_espace_redirects_to_the_ent_s_cas_login",
        ),
    ],
    "Security": [
        (
            "a bad PRONOTE.net password counts toward the same suspension",
            "integration/test_pronote_net_fleet.py::test_a_bad_web_password_suspends_the_ip_for_port_49300_too",
        ),
        (
            "an expired QR code or a used token counts like a bad password",
            "integration/test_pronote_net_mobile.py::test_an_expired_or_used_qr_code_and_a_forged_one_are_refused_and_counted",
        ),
        (
            "too many failed logins suspend the IP",
            "integration/test_security.py::test_maxretry_failures_suspend_that_ip_only",
        ),
        (
            "the console unblocks a suspended IP",
            "unit/test_school.py::test_unblock_lets_the_ip_connect_again",
        ),
    ],
}


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_fact_names_a_test_that_exists() -> None:
    missing = []
    for section, facts in FACTS.items():
        for fact, ref in facts:
            file, _, name = ref.partition("::")
            path = TESTS / file
            if not path.is_file() or name not in _test_names(path):
                missing.append(f"{section}: {fact} -> {ref}")
    assert missing == []
