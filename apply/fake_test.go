package apply

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// fakeCluster records the calls apply makes. Services it creates run at once
// unless crash says their tasks fail.
type fakeCluster struct {
	mu       gosync.Mutex
	calls    []string
	services map[string]swarm.Service
	nextID   int
	// crash reports whether a service spec's tasks fail.
	crash func(spec swarm.ServiceSpec) bool
	// updateErr, when set, is returned by UpdateService before anything else.
	updateErr func(id string, version swarm.Version) error
	// stuck reports whether a spec's tasks never get past starting (an
	// image that never becomes healthy, a placement nothing satisfies).
	stuck func(spec swarm.ServiceSpec) bool
	// taskErr, when set, is the error of the failed tasks of a crashing spec.
	taskErr func(spec swarm.ServiceSpec) string
	// auths lists, per service name, the registry user sent with each
	// create and update ("" for none).
	auths map[string][]string
	// unplaced, when set, is the scheduler's error for a spec whose tasks
	// find no node ("" for those that do).
	unplaced func(spec swarm.ServiceSpec) string
	// logs, when set, is what every crashed task logged last; with it the
	// fake is a TaskLogReader.
	logs string
	// logReads counts TaskLastLog calls.
	logReads int
}

var _ Cluster = (*fakeCluster)(nil)

func newFake() *fakeCluster {
	return &fakeCluster{services: map[string]swarm.Service{}, crash: func(swarm.ServiceSpec) bool { return false }}
}

func (f *fakeCluster) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeCluster) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "read ") {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeCluster) id(prefix string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return fmt.Sprintf("%s%d", prefix, f.nextID)
}

func (f *fakeCluster) CreateNetwork(_ context.Context, name string, _ network.CreateOptions) (string, error) {
	f.record("create network %s", name)
	return f.id("net"), nil
}
func (f *fakeCluster) RemoveNetwork(_ context.Context, id string) error {
	f.record("remove network %s", id)
	return nil
}
func (f *fakeCluster) NetworkExists(context.Context, string) (bool, error) { return false, nil }

func (f *fakeCluster) CreateSecret(_ context.Context, spec swarm.SecretSpec) (string, error) {
	if spec.Driver != nil {
		f.record("create secret %s driver=%s opts=%v", spec.Name, spec.Driver.Name, spec.Driver.Options)
		return f.id("sec"), nil
	}
	f.record("create secret %s", spec.Name)
	return f.id("sec"), nil
}
func (f *fakeCluster) UpdateSecret(_ context.Context, id string, _ swarm.Version, spec swarm.SecretSpec) error {
	f.record("update secret %s", spec.Name)
	return nil
}
func (f *fakeCluster) RemoveSecret(_ context.Context, id string) error {
	f.record("remove secret %s", id)
	return nil
}
func (f *fakeCluster) CreateConfig(_ context.Context, spec swarm.ConfigSpec) (string, error) {
	f.record("create config %s", spec.Name)
	return f.id("cfg"), nil
}
func (f *fakeCluster) UpdateConfig(_ context.Context, id string, _ swarm.Version, spec swarm.ConfigSpec) error {
	f.record("update config %s", spec.Name)
	return nil
}
func (f *fakeCluster) RemoveConfig(_ context.Context, id string) error {
	f.record("remove config %s", id)
	return nil
}

// recordAuth notes the registry user in opts, as the engine would decode it.
func (f *fakeCluster) recordAuth(service string, opts cluster.ServiceOptions) {
	user := ""
	if opts.EncodedAuth.Len() > 0 {
		ac, err := registry.DecodeAuthConfig(string(opts.EncodedAuth.Bytes()))
		if err != nil {
			panic(err)
		}
		user = ac.Username + "@" + ac.ServerAddress
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.auths == nil {
		f.auths = map[string][]string{}
	}
	f.auths[service] = append(f.auths[service], user)
}

func (f *fakeCluster) CreateService(_ context.Context, spec swarm.ServiceSpec, opts cluster.ServiceOptions) (string, []string, error) {
	f.record("create service %s", spec.Name)
	f.recordAuth(spec.Name, opts)
	id := f.id("svc")
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.services[id] = swarm.Service{ID: id, Spec: spec, Meta: swarm.Meta{Version: swarm.Version{Index: 1}, CreatedAt: now, UpdatedAt: now}}
	return id, nil, nil
}

func (f *fakeCluster) UpdateService(_ context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, opts cluster.ServiceOptions) ([]string, error) {
	f.recordAuth(spec.Name, opts)
	if f.updateErr != nil {
		if err := f.updateErr(id, version); err != nil {
			f.record("update service %s@%d: error", spec.Name, version.Index)
			return nil, err
		}
	}
	f.record("update service %s@%d force=%d image=%s", spec.Name, version.Index, spec.TaskTemplate.ForceUpdate, spec.TaskTemplate.ContainerSpec.Image)
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.services[id]
	if !ok {
		return nil, fmt.Errorf("service %s not found", id)
	}
	if s.Version.Index != version.Index {
		return nil, fmt.Errorf("rpc error: code = Unknown desc = update out of sequence")
	}
	s.Spec = spec
	s.Version.Index++
	s.UpdatedAt = time.Now()
	f.services[id] = s
	return nil, nil
}

func (f *fakeCluster) RemoveService(_ context.Context, id string) error {
	f.record("remove service %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.services, id)
	return nil
}

func (f *fakeCluster) InspectService(_ context.Context, id string) (swarm.Service, error) {
	f.record("read service %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.services[id]
	if !ok {
		return s, fmt.Errorf("service %s not found", id)
	}
	return s, nil
}

func (f *fakeCluster) ServicesByID(_ context.Context, ids []string) ([]swarm.Service, error) {
	f.record("read services")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []swarm.Service
	for _, id := range ids {
		if s, ok := f.services[id]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// ServiceTasks makes one task per replica, running or failed according to
// crash, created when the service was last changed.
func (f *fakeCluster) ServiceTasks(_ context.Context, ids []string) ([]swarm.Task, error) {
	f.record("read tasks")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []swarm.Task
	for _, id := range ids {
		s, ok := f.services[id]
		if !ok {
			continue
		}
		n := 1
		if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
			n = int(*r.Replicas)
		}
		state, desired, errMsg := swarm.TaskStateRunning, swarm.TaskStateRunning, ""
		if f.stuck != nil && f.stuck(s.Spec) {
			state = swarm.TaskStateStarting
		}
		if f.unplaced != nil {
			if e := f.unplaced(s.Spec); e != "" {
				state, errMsg = swarm.TaskStatePending, e
			}
		}
		if f.crash(s.Spec) {
			state, desired, errMsg = swarm.TaskStateFailed, swarm.TaskStateShutdown, "task: non-zero exit (3)"
			if f.taskErr != nil {
				state, errMsg = swarm.TaskStateRejected, f.taskErr(s.Spec)
			}
		}
		for i := range n * 3 { // enough failed tasks to pass any threshold
			if state == swarm.TaskStateRunning && i >= n {
				break
			}
			out = append(out, swarm.Task{ID: fmt.Sprintf("%s.%d", id, i), ServiceID: id,
				Meta: swarm.Meta{CreatedAt: s.UpdatedAt}, Spec: s.Spec.TaskTemplate,
				DesiredState: desired, Status: swarm.TaskStatus{State: state, Err: errMsg}})
		}
	}
	return out, nil
}

func (f *fakeCluster) SecretIDs(_ context.Context, names []string) (map[string]string, error) {
	f.record("read secrets")
	out := map[string]string{}
	for _, n := range names {
		out[n] = "ext-" + n
	}
	return out, nil
}

func (f *fakeCluster) ConfigIDs(_ context.Context, names []string) (map[string]string, error) {
	f.record("read configs")
	out := map[string]string{}
	for _, n := range names {
		out[n] = "ext-" + n
	}
	return out, nil
}

// loggingFake is a fakeCluster that also reads task logs.
type loggingFake struct{ *fakeCluster }

var _ TaskLogReader = loggingFake{}

func (f loggingFake) TaskLastLog(_ context.Context, taskID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logReads++
	return f.logs, nil
}
