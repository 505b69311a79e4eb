"""ament_python package definition of bb_agent.

Installs the Python package plus its share data (ament resource marker,
package.xml, launch/, config/, grammars/, models/) into share/bb_agent, so that the
same layout exists after a colcon install, a pip/venv install and a wheel.
"""

import os

from setuptools import find_packages, setup

PACKAGE = 'bb_agent'
# Share folders copied recursively into share/bb_agent/<folder>.
SHARE_FOLDERS = ('launch', 'config', 'grammars', 'models')


def share_data_files():
    """Return data_files entries for every file under SHARE_FOLDERS, keeping subfolders."""
    here = os.path.dirname(os.path.abspath(__file__))
    entries = {}
    for folder in SHARE_FOLDERS:
        for dirpath, _dirnames, filenames in os.walk(os.path.join(here, folder)):
            rel_dir = os.path.relpath(dirpath, here)
            files = sorted(
                os.path.join(rel_dir, name) for name in filenames
                if not name.endswith(('.pyc', '~')) and name != '__pycache__'
            )
            if files:
                entries.setdefault(os.path.join('share', PACKAGE, rel_dir), []).extend(files)
    return sorted(entries.items())


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['tests', 'tests.*', 'bench', 'bench.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        *share_data_files(),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='bb_agent maintainers',
    maintainer_email='maintainers@bb-agent.dev',
    description='ROS 2 agent stack: grammar-masked builder model, plan checker, '
                'executor and V_s safety monitor.',
    license='Apache-2.0',
    python_requires='>=3.11',
    entry_points={
        'console_scripts': [
            'bb-agent = bb_agent.cli:main',
            'sim_robot_node = bb_agent.nodes.entry:sim_robot',
            'safety_monitor_node = bb_agent.nodes.entry:safety_monitor',
            'plan_checker_node = bb_agent.nodes.entry:plan_checker',
            'executor_node = bb_agent.nodes.entry:executor',
            'builder_node = bb_agent.nodes.entry:builder',
            'agent_node = bb_agent.nodes.entry:agent',
            'http_bridge_node = bb_agent.nodes.entry:http_bridge',
            'api_executor_node = bb_agent.nodes.entry:api_executor',
            'chat_bridge_node = bb_agent.nodes.entry:chat_bridge',
        ],
        # Sub-commands of `bb-agent`, one entry point each. Layers register their own
        # commands here, so the CLI never imports a layer (e.g. train) it does not run.
        'bb_agent.commands': [
            'info = bb_agent.cli.info:register',
            'check = bb_agent.cli.check:register',
            'ledger = bb_agent.cli.ledger:register',
            'bench = bb_agent.cli.bench:register',
            'synth = bb_agent.cli.train:register_synth',
            'train = bb_agent.cli.train:register_train',
            'eval = bb_agent.cli.evaluate:register_eval',
            'export = bb_agent.cli.evaluate:register_export',
            'up = bb_agent.cli.stack:register_up',
            'ask = bb_agent.cli.stack:register_ask',
            'demo = bb_agent.cli.stack:register_demo',
            'promote = bb_agent.cli.models:register_promote',
            'rollback = bb_agent.cli.models:register_rollback',
            'learn = bb_agent.cli.learn:register_learn',
        ],
    },
)
