# Shared by scripts/swarm-up and scripts/swarm-nodes (sourced; they define
# log and die).

install_docker_io() {
	[ "$(id -u)" = 0 ] || die "no Docker engine answers and this is not root: install docker.io (or start dockerd) by hand"
	[ -r /etc/debian_version ] || die "no Docker engine answers and this is not Debian: install and start a Docker engine by hand"
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install and start a Docker engine by hand"
	log "installing docker.io with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null || die "apt-get install docker.io failed"
}

# stale_pidfile removes pid file $1 unless it names a running process called
# $2: a daemon that was killed (as at the end of a CI sandbox's session)
# leaves its pid file, and dockerd refuses to start while the PID in it
# exists — even as an unreaped zombie, which a sandbox without an init
# keeps around.
stale_pidfile() {
	local file=$1 name=$2 pid state
	[ -f "$file" ] || return 0
	pid=$(cat "$file" 2>/dev/null || true)
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ] || [ "$state" = Z ]; then
		log "removing the stale $file (PID $pid is not a running $name)"
		rm -f "$file"
	fi
}
