package stack

import (
	"errors"
	"fmt"
	"path"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/mount"
)

func (r *renderer) convertMounts(service string, vols []types.ServiceVolumeConfig) ([]mount.Mount, error) {
	var out []mount.Mount
	for _, v := range vols {
		// docker's schema accepts these options and its converter drops them.
		if v.Bind != nil && v.Bind.SELinux != "" {
			r.warn(service, "volumes.bind.selinux", "ignored for "+v.Target+": not applied to swarm mounts")
		}
		if v.Tmpfs != nil && v.Tmpfs.Mode != 0 {
			r.warn(service, "volumes.tmpfs.mode", "ignored for "+v.Target+": not applied by docker stack deploy")
		}
		m, err := r.convertMount(v)
		if err != nil {
			return nil, fmt.Errorf("volumes: %s: %w", v.Target, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func (r *renderer) convertMount(v types.ServiceVolumeConfig) (mount.Mount, error) {
	m := mount.Mount{
		Type:        mount.Type(v.Type),
		Source:      v.Source,
		Target:      v.Target,
		ReadOnly:    v.ReadOnly,
		Consistency: mount.Consistency(v.Consistency),
	}
	switch v.Type {
	case "volume", "":
		if v.Bind != nil || v.Tmpfs != nil {
			return mount.Mount{}, errors.New("bind and tmpfs options are incompatible with type volume")
		}
		if v.Source == "" {
			return m, nil // anonymous volume
		}
		vol, ok := r.project.Volumes[v.Source]
		if !ok {
			return mount.Mount{}, fmt.Errorf("undefined volume %q", v.Source)
		}
		m.Source = vol.Name // compose-go fills it as docker would: stack_key, name: or the external name
		m.VolumeOptions = &mount.VolumeOptions{}
		if v.Volume != nil {
			m.VolumeOptions.NoCopy = v.Volume.NoCopy
			m.VolumeOptions.Subpath = v.Volume.Subpath
		}
		if vol.External {
			return m, nil
		}
		m.VolumeOptions.Labels = r.stackLabels(vol.Labels)
		if vol.Driver != "" || vol.DriverOpts != nil {
			m.VolumeOptions.DriverConfig = &mount.Driver{Name: vol.Driver, Options: vol.DriverOpts}
		}
		return m, nil
	case "bind", "npipe":
		if v.Source == "" {
			return mount.Mount{}, fmt.Errorf("invalid %s source, source cannot be empty", v.Type)
		}
		if v.Type == "bind" && !path.IsAbs(v.Source) {
			// docker resolves it against the client's working directory,
			// which means nothing for a stack rendered from Git.
			return mount.Mount{}, fmt.Errorf("bind source %q must be an absolute path on the node", v.Source)
		}
		if v.Volume != nil || v.Tmpfs != nil {
			return mount.Mount{}, fmt.Errorf("volume and tmpfs options are incompatible with type %s", v.Type)
		}
		if v.Bind != nil && v.Bind.Propagation != "" {
			m.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(v.Bind.Propagation)}
		}
		return m, nil
	case "tmpfs":
		if v.Source != "" {
			return mount.Mount{}, errors.New("invalid tmpfs source, source must be empty")
		}
		if v.Bind != nil || v.Volume != nil {
			return mount.Mount{}, errors.New("bind and volume options are incompatible with type tmpfs")
		}
		if v.Tmpfs != nil {
			m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
		}
		return m, nil
	case "cluster":
		return mount.Mount{}, errors.New("cluster volumes need engine API 1.42 or later and are not supported")
	}
	return mount.Mount{}, fmt.Errorf("volume type %q: must be volume, bind, tmpfs or npipe", v.Type)
}
