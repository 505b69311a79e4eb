# Sourced by the Makefile and .ci/run: keeps DDS on loopback and logs in a temp dir.
#   ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST  no discovery traffic leaves loopback
#   ROS_DOMAIN_ID                            fresh per run (1..101) unless already set
#   ROS_LOG_DIR                              a temp dir, unless already set
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
if [ "$ROS_AUTOMATIC_DISCOVERY_RANGE" != "LOCALHOST" ] && [ "$ROS_AUTOMATIC_DISCOVERY_RANGE" != "OFF" ]; then
  echo "ROS_AUTOMATIC_DISCOVERY_RANGE=$ROS_AUTOMATIC_DISCOVERY_RANGE would send traffic off loopback; using LOCALHOST" >&2
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
fi
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 101) + 1 ))}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$(mktemp -d -t bb_agent_roslog.XXXXXX)}"
unset ROS_STATIC_PEERS
# The venv is an ament prefix (scripts/setup.sh registers bb_agent in it): ros2 launch and
# ros2 run (from ../shared/ros2-tools) find the package and bb_msgs through it.
_bb_venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv"
case ":${AMENT_PREFIX_PATH:-}:" in
  *":$_bb_venv:"*) ;;
  *) export AMENT_PREFIX_PATH="$_bb_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;;
esac
unset _bb_venv
# Peers drop a participant that vanished without a goodbye after 5 s, not 20 s (see the file).
export FASTDDS_DEFAULT_PROFILES_FILE="${FASTDDS_DEFAULT_PROFILES_FILE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/config/fastdds/participant.xml}"
