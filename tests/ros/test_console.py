"""The web operator console in a real browser: headless Chromium driven by Selenium.

The whole stack runs (templates answer: the builder's model is timed out), the HTTP bridge
serves /console, and the browser logs in with an operator token, watches V_s and the world,
sends requests from the chat box, approves a pending one and latches STOP. Screenshots of
each step are written to the test's folder.
"""

import importlib.util
import shutil

import pytest

from bb_agent.core.api_access import hash_token
from bench.peers import free_port
from tests.ros.stack import RosClient

pytestmark = pytest.mark.ros
CHROMIUM, DRIVER = shutil.which('chromium'), shutil.which('chromedriver')
if not (CHROMIUM and DRIVER and importlib.util.find_spec('selenium')):
    pytest.skip('chromium, chromium-driver or selenium missing (make setup-bridges)',
                allow_module_level=True)
WAIT_S = 30.0


@pytest.fixture(scope='module')
def url(approval_key, supervised, tmp_path_factory):
    tokens = tmp_path_factory.mktemp('tokens') / 'tokens.yaml'
    tokens.write_text('tokens:\n'
                      f'  - {{name: ops, sha256: {hash_token("ops-secret")}, '
                      'scopes: [plan, execute, operator]}\n'
                      f'  - {{name: viewer, sha256: {hash_token("plan-secret")}, '
                      'scopes: [plan]}\n')
    port = free_port()
    supervised({'http_bridge': {'port': port, 'tokens_file': str(tokens)},
                'agent': {'approval_skills': 'scan', 'approval_timeout_s': 60.0},
                'executor': {'approval_skills': 'scan'},
                'builder': {'timeout_s': 0.05}, 'sim_robot': {'time_scale': 4.0}})
    client = RosClient('console_test_client')
    try:  # a STOP latched by a starved bring-up is reset, as an operator would
        client.ready_to_move(30)
    finally:
        client.close()
    return f'http://127.0.0.1:{port}/console'


@pytest.fixture(scope='module')
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--window-size=1400,1000'):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope='module')
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp('screenshots')


def wait_for(browser, predicate, what: str):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    try:  # the page redraws twice a second: an element read mid-redraw is read again
        return WebDriverWait(browser, WAIT_S, 0.2, ignored_exceptions=(
            StaleElementReferenceException,)).until(lambda d: predicate(d))
    except Exception:
        shown = {k: browser.find_element('id', k).text for k in ('error', 'level', 'reasons')}
        raise AssertionError(f'{what}; the page shows {shown}') from None


def login(browser, url, token):
    browser.get(url)
    box = browser.find_element('id', 'token')
    box.clear()
    box.send_keys(token)
    browser.find_element('id', 'login').click()


def snap(browser, shots, name):
    path = shots / f'{name}.png'
    assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000
    return path


def send(browser, text, dry=False):
    from selenium.webdriver.common.by import By
    box = browser.find_element('id', 'chat')
    box.clear()
    box.send_keys(text)
    if browser.find_element('id', 'dry').is_selected() != dry:
        browser.find_element('id', 'dry').click()
    before = len(browser.find_elements(By.CSS_SELECTOR, '#chatlog li'))
    browser.find_element('id', 'send').click()
    return before


def last_outcome(browser, before):
    from selenium.webdriver.common.by import By
    rows = browser.find_elements(By.CSS_SELECTOR, '#chatlog li')
    return rows[0].get_attribute('data-outcome') if len(rows) > before else None


def test_when_a_viewer_token_opens_the_console_expect_403_and_no_data(browser, url, shots):
    login(browser, url, 'plan-secret')
    wait_for(browser, lambda d: '403' in d.find_element('id', 'error').text,
             'a token without the operator scope is refused')
    assert browser.find_element('id', 'vs').text == '-'
    snap(browser, shots, '0_refused')


def test_when_an_operator_logs_in_expect_vs_level_and_the_world_drawn(browser, url, shots):
    from selenium.webdriver.common.by import By
    login(browser, url, 'ops-secret')
    wait_for(browser, lambda d: d.find_element('id', 'level').text == 'OK', 'level OK')
    float(browser.find_element('id', 'vs').text)  # a number
    assert browser.find_element('id', 'latched').text == 'no'
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, '#world .bin')) >= 2 and
             d.find_elements(By.CSS_SELECTOR, '#world .obj') and
             d.find_elements(By.CSS_SELECTOR, '#world .ee'), 'bins, objects and the arm')
    snap(browser, shots, '1_state')


def test_when_a_request_is_sent_from_the_chat_box_expect_it_run_and_its_plan_shown(
        browser, url, shots):
    from selenium.webdriver.common.by import By
    before = send(browser, 'go home')
    wait_for(browser, lambda d: last_outcome(d, before) == 'SUCCEEDED', 'go home succeeded')
    wait_for(browser, lambda d: any(
        n.get_attribute('data-skill') == 'home' and n.get_attribute('data-state') ==
        'succeeded' for n in d.find_elements(By.CSS_SELECTOR, '#plan li')),
        'the plan node home shown as succeeded')
    wait_for(browser, lambda d: 'request' in d.find_element('id', 'ledger').text,
             'the ledger shows the request')
    snap(browser, shots, '2_plan')


def test_when_a_request_needs_an_operator_expect_it_pending_then_run_once_approved(
        browser, url, shots):
    from selenium.webdriver.common.by import By
    before = send(browser, 'look around')
    row = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#pending li'),
                   'the request waits for approval')[0]
    assert 'scan' in row.text
    snap(browser, shots, '3_pending')
    row.find_element(By.CSS_SELECTOR, 'button.approve').click()  # the same row: not redrawn
    wait_for(browser, lambda d: last_outcome(d, before) == 'SUCCEEDED', 'approved: it ran')
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, '#pending li'),
             'nothing pending any more')


@pytest.mark.parametrize('path,body,headers,status,code', [
    ('/v1/console/decision', b'{not json', {}, 400, 103),
    ('/v1/console/decision', b'\xff\xfe', {}, 400, 103),                    # not UTF-8
    ('/v1/console/decision', b'[1]', {}, 400, 103),
    ('/v1/console/decision', b'{"correlation_id": 5, "approve": "yes"}', {}, 400, 103),
    ('/v1/console/decision', b'{"correlation_id": "nope", "approve": true}', {}, 409, None),
    ('/v1/console/decision', b'{"a": "' + b'x' * 5000 + b'"}', {}, 413, 100),
    ('/v1/console/stop', b'{}', {'Authorization': 'Bearer plan-secret'}, 403, 100),
    ('/v1/console/stop', b'{}', {'Authorization': ''}, 401, 100),
    ('/v1/console/stop', b'{}', {'Origin': 'http://evil.example'}, 403, 100),
    ('/v1/console/stop', b'{}', {'Content-Type': 'text/plain'}, 415, 100),
    ('/v1/console/state', None, {'Authorization': 'Bearer nobody'}, 401, 100),
])
def test_when_console_calls_are_malformed_or_unauthorised_expect_typed_refusals(
        url, path, body, headers, status, code):
    import json
    import urllib.error
    import urllib.request
    base = url.rsplit('/console', 1)[0]
    sent = {'Authorization': 'Bearer ops-secret', 'Content-Type': 'application/json',
            **headers}
    req = urllib.request.Request(base + path, data=body, method='GET' if body is None
                                 else 'POST', headers={k: v for k, v in sent.items() if v})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    answer = json.loads(info.value.read())
    assert info.value.code == status and answer['error_msg'], answer
    assert code is None or answer['error_code'] == code


def test_when_request_text_carries_markup_expect_it_shown_as_text_never_run(browser, url):
    from selenium.webdriver.common.by import By
    hostile = '<img id="xss" src="x" onerror="document.title=1"> hello'
    before = send(browser, hostile, dry=True)
    wait_for(browser, lambda d: last_outcome(d, before) is not None, 'an answer')
    wait_for(browser, lambda d: '<img id="xss"' in d.find_element('id', 'ledger').text,
             'the ledger shows the markup as text')
    assert not browser.find_elements(By.ID, 'xss') and browser.title == 'bb_agent console'


def test_when_stop_is_pressed_expect_stop_latched_with_its_reason(browser, url, shots):
    browser.find_element('id', 'stop').click()
    wait_for(browser, lambda d: d.find_element('id', 'latched').text == 'yes' and
             d.find_element('id', 'level').text == 'STOP', 'STOP latched')
    wait_for(browser, lambda d: d.find_element('id', 'reasons').text.strip(),
             'the reasons of the STOP shown')
    snap(browser, shots, '4_stop')
