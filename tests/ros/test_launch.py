"""launch_pytest tests of launch/agent.launch.py: they run where launch_pytest is installed.

The PyPI ROS wheels used by the venv bring-up have no launch, launch_ros or launch_pytest;
there this module skips (``bb-agent up``, tested in test_agent_stack.py, starts the same
nodes from the same config/agent.yaml).
"""

import importlib.util

import pytest

launch_pytest = pytest.importorskip('launch_pytest')
pytest.importorskip('launch_ros')

from launch.actions import IncludeLaunchDescription, OpaqueFunction  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

from bb_agent.core.bringup import load_bringup  # noqa: E402
from bb_agent.core.resources import config_path, share_path  # noqa: E402
from launch import LaunchContext, LaunchDescription  # noqa: E402

pytestmark = pytest.mark.ros
LAUNCH_FILE = str(share_path('launch', 'agent.launch.py'))


def _module():
    spec = importlib.util.spec_from_file_location('agent_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('use_sim', ['true', 'false'])
def test_when_launch_file_is_evaluated_expect_the_nodes_of_agent_yaml(use_sim):
    description = _module().generate_launch_description()
    context = LaunchContext()
    context.launch_configurations.update({'use_sim': use_sim, 'rviz': 'false',
                                          'params_file': '', 'model_path': '',
                                          'namespace': ''})
    opaque = next(e for e in description.entities if isinstance(e, OpaqueFunction))
    actions = opaque.execute(context)  # the public API (OpaqueFunction.function is private)
    nodes = load_bringup(config_path('agent.yaml')).nodes
    # enabled_by doors (api_executor) stay off: the shipped files leave them unconfigured
    expected = [n.name for n in nodes if (use_sim == 'true' or not n.sim_only) and
                n.enabled_by is None]
    from launch_ros.actions import Node
    assert len(actions) == len(expected) and all(isinstance(a, Node) for a in actions)


@launch_pytest.fixture
def launch_description():
    """Include the real launch file with the sim robot."""
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(LAUNCH_FILE),
                                 launch_arguments={'use_sim': 'true', 'rviz': 'false'}.items()),
        launch_pytest.actions.ReadyToTest()])


@pytest.mark.launch(fixture=launch_description)
def test_when_launched_expect_the_agent_to_serve_handle_request():

    from bb_msgs.action import HandleRequest
    from tests.ros.stack import RosClient
    client = RosClient('launch_test_client')
    try:
        action = client.action_client(HandleRequest, 'handle_request')
        assert action.wait_for_server(timeout_sec=120.0)
    finally:
        client.close()
