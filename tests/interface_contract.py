"""The bb_msgs interface contract: every interface, its typed fields and its constants.

Tests compare the generated interfaces against this table,
so removing or retyping a field, or dropping a constant, fails a test.
"""

# Fields of every response and action result (typed outcomes, STYLE.md rule 6).
OUTCOME_FIELDS = {'outcome': 'uint8', 'error_code': 'uint16', 'error_msg': 'string'}

MSG = {
    'Argument': {'name': 'string', 'value_json': 'string'},
    'PlanNode': {
        'id': 'string', 'skill': 'string', 'arguments': 'sequence<bb_msgs/Argument>',
        'depends_on': 'sequence<string>', 'guard': 'string', 'optional': 'boolean',
        'timeout_s': 'double', 'retries': 'int32'},
    'PlanGraph': {
        'header': 'std_msgs/Header', 'plan_id': 'string', 'domain': 'string',
        'program': 'string', 'nodes': 'sequence<bb_msgs/PlanNode>', 'grammar_hash': 'string',
        'schema_hash': 'string'},
    'Violation': {'code': 'string', 'node_id': 'string', 'message': 'string',
                  'severity': 'uint8'},
    'CheckVerdict': {
        'approved': 'boolean', 'violations': 'sequence<bb_msgs/Violation>',
        'approval_token': 'string', 'world_hash': 'string',
        'checked_at': 'builtin_interfaces/Time'},
    'SafetyStatus': {
        'header': 'std_msgs/Header', 'v_s': 'double', 'v_s_dot': 'double',
        'threshold': 'double', 'level': 'uint8', 'latched': 'boolean',
        'reasons': 'sequence<string>'},
    'WorldObject': {
        'id': 'string', 'kind': 'string', 'pose': 'geometry_msgs/Pose',
        'size': 'geometry_msgs/Vector3', 'attributes': 'sequence<bb_msgs/Argument>'},
    'RobotStateSummary': {
        'joint_names': 'sequence<string>', 'joint_positions': 'sequence<double>',
        'joint_velocities': 'sequence<double>', 'end_effector': 'geometry_msgs/Pose',
        'ee_speed': 'double', 'ee_force': 'double', 'gripper_opening': 'double',
        'held_object': 'string', 'mode': 'string'},
    'WorldState': {
        'header': 'std_msgs/Header', 'objects': 'sequence<bb_msgs/WorldObject>',
        'robot': 'bb_msgs/RobotStateSummary', 'facts': 'sequence<string>'},
    'NodeStatus': {
        'plan_id': 'string', 'node_id': 'string', 'skill': 'string', 'state': 'uint8',
        'attempt': 'int32', 'elapsed_s': 'double', 'error_code': 'uint16',
        'message': 'string'},
    'ExecutionSummary': {
        'plan_id': 'string', 'nodes_total': 'int32', 'nodes_succeeded': 'int32',
        'nodes_failed': 'int32', 'nodes_skipped': 'int32', 'retries': 'int32',
        'safe_pose_commanded': 'boolean', 'duration_s': 'double',
        'nodes': 'sequence<bb_msgs/NodeStatus>'},
    'Metric': {'name': 'string', 'value': 'double', 'baseline': 'double',
               'threshold': 'double', 'passed': 'boolean'},
    'ErrorCodes': {'code': 'uint16'},
}

SRV = {
    'ProposePlan': (
        {'goal': 'string', 'domain': 'string', 'context_json': 'string',
         'actor_id': 'string', 'session_id': 'string', 'correlation_id': 'string'},
        {**OUTCOME_FIELDS, 'plan': 'bb_msgs/PlanGraph', 'confidence': 'double',
         'source': 'uint8', 'deferred': 'boolean', 'clarification_question': 'string'},
    ),
    'CheckPlan': (
        {'plan': 'bb_msgs/PlanGraph', 'world_state': 'sequence<bb_msgs/WorldState, 1>',
         'budget_s': 'double', 'repair': 'boolean'},
        {**OUTCOME_FIELDS, 'verdict': 'bb_msgs/CheckVerdict', 'repaired': 'boolean',
         'repaired_plan': 'bb_msgs/PlanGraph', 'repairs': 'sequence<string>'},
    ),
    'PromoteCheckpoint': (
        {'candidate_path': 'string', 'baseline_path': 'string', 'dry_run': 'boolean'},
        {**OUTCOME_FIELDS, 'decision': 'uint8', 'metrics': 'sequence<bb_msgs/Metric>',
         'report_path': 'string'},
    ),
    'OperatorDecision': (
        {'correlation_id': 'string', 'approve': 'boolean', 'operator_id': 'string',
         'reason': 'string'},
        dict(OUTCOME_FIELDS),
    ),
}

ACTION = {
    'HandleRequest': (
        {'text': 'string', 'domain': 'string', 'actor_id': 'string', 'session_id': 'string',
         'request_key': 'string', 'context_json': 'string', 'dry_run': 'boolean'},
        {**OUTCOME_FIELDS, 'correlation_id': 'string', 'plan': 'bb_msgs/PlanGraph',
         'verdict': 'bb_msgs/CheckVerdict', 'summary': 'bb_msgs/ExecutionSummary',
         'deferred': 'boolean', 'clarification_question': 'string'},
        {'stage': 'uint8', 'progress': 'float', 'message': 'string',
         'correlation_id': 'string', 'node': 'bb_msgs/NodeStatus'},
    ),
    'ExecutePlan': (
        {'plan': 'bb_msgs/PlanGraph', 'approval_token': 'string', 'world_hash': 'string',
         'correlation_id': 'string', 'operator_id': 'string', 'operator_token': 'string'},
        {**OUTCOME_FIELDS, 'summary': 'bb_msgs/ExecutionSummary'},
        {'node': 'bb_msgs/NodeStatus', 'progress': 'float'},
    ),
    'Skill': (
        {'skill': 'string', 'arguments': 'sequence<bb_msgs/Argument>', 'plan_id': 'string',
         'node_id': 'string', 'correlation_id': 'string', 'timeout_s': 'double'},
        {**OUTCOME_FIELDS, 'result_json': 'string'},
        {'progress': 'float', 'message': 'string'},
    ),
}

# Constants each interface must define (values are checked against bb_agent.core.outcomes
# where a core enum mirrors them, and for uniqueness otherwise).
CONSTANTS = {
    'msg/Violation': {'SEVERITY_LOW': 0, 'SEVERITY_MEDIUM': 1, 'SEVERITY_HIGH': 2,
                      'SEVERITY_CRITICAL': 3},
    'msg/SafetyStatus': {'LEVEL_OK': 0, 'LEVEL_WARN': 1, 'LEVEL_STOP': 2},
    'msg/NodeStatus': {'STATE_PENDING': 0, 'STATE_RUNNING': 1, 'STATE_RETRYING': 2,
                       'STATE_SUCCEEDED': 3, 'STATE_FAILED': 4, 'STATE_SKIPPED': 5,
                       'STATE_CANCELED': 6},
    'srv/ProposePlan.Response': {'SOURCE_NONE': 0, 'SOURCE_MODEL': 1, 'SOURCE_TEMPLATE': 2,
                                 'OUTCOME_SUCCEEDED': 0, 'OUTCOME_DEFERRED': 2},
    'srv/CheckPlan.Response': {'OUTCOME_SUCCEEDED': 0, 'OUTCOME_REJECTED': 1},
    'srv/PromoteCheckpoint.Response': {'DECISION_REJECT': 0, 'DECISION_PROMOTE': 1,
                                       'DECISION_HOLD': 2, 'OUTCOME_SUCCEEDED': 0},
    'srv/OperatorDecision.Response': {'OUTCOME_SUCCEEDED': 0, 'OUTCOME_INVALID_INPUT': 6},
    'action/HandleRequest.Result': {'OUTCOME_SUCCEEDED': 0, 'OUTCOME_REJECTED': 1,
                                    'OUTCOME_DEFERRED': 2, 'OUTCOME_STOPPED': 8},
    'action/HandleRequest.Feedback': {
        'STAGE_RECEIVED': 0, 'STAGE_PROPOSING': 1, 'STAGE_CHECKING': 2,
        'STAGE_REPAIRING': 3, 'STAGE_AWAITING_APPROVAL': 4, 'STAGE_EXECUTING': 5,
        'STAGE_DONE': 6},
    'action/ExecutePlan.Result': {'OUTCOME_SUCCEEDED': 0, 'OUTCOME_REJECTED': 1,
                                  'OUTCOME_STOPPED': 8},
    'action/Skill.Result': {'OUTCOME_SUCCEEDED': 0, 'OUTCOME_FAILED': 3,
                            'OUTCOME_STOPPED': 8},
}
