"""Launch the bb_agent stack on a ROS 2 install: ``ros2 launch bb_agent agent.launch.py``.

The node list comes from ``config/agent.yaml`` (the same list ``bb-agent up`` uses in a
venv). Arguments:

- ``use_sim`` (true): also start the nodes marked ``sim_only`` (the simulated robot);
- ``rviz`` (false): start RViz with ``config/bb_agent.rviz``;
- ``params_file`` (""): an extra parameter file applied to every node, after the defaults;
- ``model_path`` (""): builder model checkpoint; empty means the shipped default model;
- ``namespace`` (""): ROS namespace for every node.

A node marked ``required`` (the default) ends the launch when it exits on its own (exit
code 1, naming the node); Ctrl-C stops everything cleanly (exit 0).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import (
    DeclareLaunchArgument,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from bb_agent.core.bringup import load_bringup
from launch import LaunchDescription


def _truthy(text):
    return text.strip().lower() in ('1', 'true', 'yes', 'on')


def _on_exit(name, required, stopping):
    """Return the on_exit handler of a node: a required one's exit ends the launch.

    A required node that dies (a signal, a non-zero code) raises, which launch reports as an
    ERROR, shuts the stack down and turns into exit code 1. A required node that exits 0
    was asked to stop (it only exits 0 on SIGINT or SIGTERM): the stack stops cleanly, with
    one Shutdown (exit 0). A Ctrl-C reaches every node of the process group at once, and a
    node may see it before launch does (seen in CI); judging its exit 0 a death made such a
    Ctrl-C end in exit 1. Nothing is emitted once a shutdown has begun: a Shutdown per exit
    made launch_ros raise "Cannot shutdown a ROS adapter that is not running" for each
    lifecycle node.
    """
    def on_exit(event, context):
        if not required or context.is_shutdown or stopping:
            return None
        if event.returncode == 0:
            stopping.append(name)
            return [Shutdown(reason=f'required node {name} stopped (exit 0)')]

        def fail(_context):
            raise RuntimeError(f'required node {name} exited with code {event.returncode}; '
                               'the stack stops')
        return [OpaqueFunction(function=fail)]
    return on_exit


def _nodes(context):
    share = get_package_share_directory('bb_agent')
    bringup = load_bringup(os.path.join(share, 'config', 'agent.yaml'))
    use_sim = _truthy(LaunchConfiguration('use_sim').perform(context))
    namespace = LaunchConfiguration('namespace').perform(context)
    extra_params = LaunchConfiguration('params_file').perform(context)
    model_path = LaunchConfiguration('model_path').perform(context)
    actions, stopping = [], []  # stopping: the first required node that exited 0
    for spec in bringup.nodes:
        if spec.sim_only and not use_sim:
            continue
        params = [os.path.join(share, 'config', p) for p in spec.params]
        if extra_params:
            params.append(extra_params)
        if not spec.enabled(params):
            continue  # an optional door without its configuration (enabled_by)
        if model_path and spec.name == 'builder':
            params.append({'model_path': model_path})
        node_cls = LifecycleNode if spec.lifecycle else Node
        # A required node's exit ends the launch, as `bb-agent up` does (optional ones may go).
        on_exit = _on_exit(spec.name, spec.required, stopping)
        actions.append(node_cls(
            package='bb_agent', executable=spec.executable, name=spec.name,
            namespace=namespace, parameters=params, output='screen', on_exit=on_exit))
    if _truthy(LaunchConfiguration('rviz').perform(context)):
        actions.append(Node(
            package='rviz2', executable='rviz2', name='rviz2', output='screen',
            arguments=['-d', os.path.join(share, 'config', 'bb_agent.rviz')]))
    return actions


def generate_launch_description():
    """Return the launch description built from config/agent.yaml."""
    return LaunchDescription([
        DeclareLaunchArgument('use_sim', default_value='true',
                              description='also start the simulated robot'),
        DeclareLaunchArgument('rviz', default_value='false', description='start RViz'),
        DeclareLaunchArgument('params_file', default_value='',
                              description='extra parameter file for every node'),
        DeclareLaunchArgument('model_path', default_value='',
                              description='builder checkpoint; empty = shipped default'),
        DeclareLaunchArgument('namespace', default_value='', description='ROS namespace'),
        # peers drop a node that died without a goodbye after 5 s, not 20 s (a caller's
        # own profile wins)
        SetEnvironmentVariable('FASTDDS_DEFAULT_PROFILES_FILE', os.environ.get(
            'FASTDDS_DEFAULT_PROFILES_FILE', os.path.join(get_package_share_directory(
                'bb_agent'), 'config', 'fastdds', 'participant.xml'))),
        OpaqueFunction(function=_nodes),
    ])
