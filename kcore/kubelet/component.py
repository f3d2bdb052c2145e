"""The kubelet of one node as a pure component: pods through the runtime, status to the API.

Owns `Kubelet` (the `Component`: name `kubelet/<node>`, watches Pods and Nodes) and its
state value `KubeletState`.

Theory of operation:
- The informer view holds the cluster as seen; the kubelet cares for the pods whose
  spec.nodeName is its node (plus its static pods, which it runs from its own
  manifests, never from the API) through one `PodWorker` each, keyed by pod uid.
- Every event marks pods to sync; a sync is level-triggered: `pod_worker.plan` says which
  runtime calls to make, `pod_status.compute_status` what status the pod has. A runtime
  call goes out as `CallRuntime` tagged with its `pod_worker.Purpose` (the pod's uid, the
  operation, the container), so the answer finds its pod and purpose again; runtime
  callbacks find their pod by sandbox id. An API call is tagged with what it is for
  (`PodCall(uid, asked)`, `NodeStatusUpdate`, `LeaseRenewal`, `LeaseRead`,
  `OrphanMirror`), a pod's timer is `SyncPod(uid)`, the heartbeat `Timer.HEARTBEAT`.
- Status goes to the API by `Update(pod, subresource=status)` only when it changed, one
  write in flight per pod, from the newest status known (our last acknowledged write or
  the watched pod, whichever is newer): a stale status never overwrites a newer one.
  A 409 waits for the watch to bring the newer pod and writes again on top of it.
- A pod with deletionTimestamp is torn down (containers stopped with the grace period,
  sandbox removed), its final status written, then deleted for good with
  `Delete(grace_period_seconds=0, precondition_uid=uid)`, as upstream's status manager.
  A pod that vanished from the API is torn down without status.
- Admission (`kcore.kubelet.admission.admit_pod`) runs once per new pod that has not
  started anywhere yet: a rejected pod is Failed with the rejection's reason and never runs.
- Node status and the Lease are renewed on the heartbeat timer every
  `node_status_update_frequency` seconds (`kcore.kubelet.node_status`). The kubelet does
  not watch its Lease: as upstream's nodelease controller keeps `latestLease`, it keeps
  the Lease its last write returned in its view, and re-reads it (GET) when a write is
  refused (409, 404, AlreadyExists: someone else changed or deleted it). The idle
  node's two events (the heartbeat timer, the renewal's answer) each cost one state copy:
  the status check is skipped while the Node is unchanged and its report not due, and an
  answered renewal replaces the view's Lease in place (`with_lease`). UpdateRuntimeConfig
  hands the runtime the node's podCIDR at start and whenever it changes.
- `init` rebuilds everything from the LIST: restart counts and the phase floor come from
  the pods' API status, the runtime is asked afresh (a node crash wiped it; after a crash
  of the kubelet alone a leftover sandbox is discarded and replaced, see pod_worker).

Must not know: the driver's queue, the runtime's internals (only CRI calls and answers).
Mirrors pkg/kubelet/kubelet.go (syncLoop, HandlePod*), pod_workers.go and
pkg/kubelet/status/status_manager.go.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.coordination import Lease
from kcore.api.core import EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Status, StatusReason, Time, evolver
from kcore.api.pod import Pod, PodPhase, PodStatus
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, CallRuntime, Effect, RecordEvent, WakeMeAt
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import observe
from kcore.component.requests import Create, Delete, Get, Request, Response, Subresource, Update
from kcore.kubelet import pod_worker as pw
from kcore.kubelet.admission import admit_pod
from kcore.kubelet.config import KUBELET, KubeletConfig
from kcore.kubelet.node_status import (
    last_heartbeat,
    lease_key,
    node_key,
    node_status_request,
    renew_lease,
)
from kcore.kubelet.pod_status import (
    compute_status,
    later_phase,
    pod_phase,
    remember_status,
    settled_status,
    status_phase,
)
from kcore.kubelet.static_pods import is_mirror_pod, mirror_pod, static_pods
from kcore.persistent import pmap_set
from kcore.runtime.cri import (
    ContainerExited,
    ImagePulled,
    ImagePullFailed,
    RuntimeConfigured,
    RuntimeEvent,
    RuntimeResult,
    UpdateRuntimeConfig,
)
from kcore.scheduler.nodeinfo import Resources, pod_requests
from kcore.state import ClusterState, get, pods_on_node

STATUS_RETRY_SECONDS: Final = 1.0
API_RETRY_SECONDS: Final = 5.0


class Timer(enum.Enum):
    """The kubelet's node-wide timer (a pod's timer is `SyncPod`)."""

    HEARTBEAT = "heartbeat"  # node status and Lease renewal


@attrs.frozen(kw_only=True)
class SyncPod:
    """The key of a pod worker's timer: sync the pod of worker `uid` again."""

    uid: str


class Asked(enum.Enum):
    """What an API call about one of the node's pods asks for."""

    STATUS = "status"  # write the pod's status
    DELETE = "delete"  # delete the pod for good (torn down, or a mirror being deleted)
    MIRROR = "mirror"  # create a static pod's mirror pod


@attrs.frozen(kw_only=True)
class PodCall:
    """The tag of an API call about the pod of worker `uid`."""

    uid: str
    asked: Asked


@attrs.frozen(kw_only=True)
class NodeStatusUpdate:
    """The tag of the node status update of the heartbeat at `at` (its answer is not read)."""

    at: Time


@attrs.frozen(kw_only=True)
class LeaseRenewal:
    """The tag of the Lease write of the heartbeat at `at`."""

    at: Time


@attrs.frozen(kw_only=True)
class LeaseRead:
    """The tag of the Lease's re-read after a write refused at `at`."""

    at: Time


@attrs.frozen(kw_only=True)
class OrphanMirror:
    """The tag of the delete of mirror pod `pod`, whose static pod is gone (fire and forget)."""

    pod: ObjectKey


@attrs.frozen(kw_only=True)
class NetworkConfig:
    """The tag of UpdateRuntimeConfig handing the runtime the node's `pod_cidr`."""

    pod_cidr: str


_LEASE_TAGS: Final = frozenset({LeaseRenewal, LeaseRead})


@attrs.frozen(kw_only=True)
class Reported:
    """What the API holds of a pod's status as far as the kubelet knows."""

    status: PodStatus = PodStatus()
    rv: int = 0
    busy: bool = False  # a status write is in flight
    sent: PodStatus | None = None  # the last status written (not re-sent while unchanged)
    delete_sent: bool = False
    mirror_sent: bool = False


@attrs.frozen(kw_only=True)
class KubeletState:
    view: ClusterState
    now: Time
    workers: PMap[str, pw.PodWorker] = pmap()  # pod uid -> worker
    # pod key -> the uids of its workers (an old incarnation still tearing down, the new
    # one; a static pod's worker under its mirror's key), kept with `workers`, so a pod
    # event finds its workers without a scan
    uids_by_key: PMap[ObjectKey, tuple[str, ...]] = pmap()
    reported: PMap[str, Reported] = pmap()
    images: PSet[str] = pset()
    pod_cidr: str = ""
    statics: tuple[Pod, ...] = ()
    # resourceVersion of the Node whose status the setters last found unchanged: the
    # setters depend only on the Node and the heartbeat time, so until the Node changes
    # (or the report is due) the next check would find the same, and is skipped
    status_checked_rv: int = -1
    # ... and that Node's Ready heartbeat (whether the report is due needs only this)
    status_checked_hb: Time | None = None
    # the node's InternalIP as the view shows it: it changes only with the Node, so it is
    # read again when a Node event or a relist arrives, not at every sync
    node_ip: str = ""


# `attrs.evolve` for the hot records, cheaper (built once at import)
_evolve_state = evolver(KubeletState)
_evolve_rep = evolver(Reported)
_evolve_pod = evolver(Pod)
_evolve_meta = evolver(ObjectMeta)
_evolve_view = evolver(ClusterState)
_NOTHING_REPORTED: Final = Reported()


def _node(view: ClusterState, config: KubeletConfig) -> Node | None:
    obj = get(view, ObjectKey(kind=Kind.NODE, namespace="", name=config.node_name))
    return obj if isinstance(obj, Node) else None


def node_ip_of(view: ClusterState, config: KubeletConfig) -> str:
    """The InternalIP of the kubelet's Node in `view` ("" without one)."""
    node = _node(view, config)
    if node is None:
        return ""
    for addr in node.status.addresses:
        if addr.type == "InternalIP":
            return addr.address
    return ""


@attrs.frozen(kw_only=True)
class Kubelet:
    """The kubelet of `config.node_name` (see the module docstring)."""

    config: KubeletConfig
    # the keys of the node's Node and Lease, built once (read at every heartbeat)
    _node_key: ObjectKey = attrs.field(init=False, repr=False, eq=False)
    _lease_key: ObjectKey = attrs.field(init=False, repr=False, eq=False)

    @_node_key.default
    def _node_key_default(self) -> ObjectKey:
        return node_key(self.config)

    @_lease_key.default
    def _lease_key_default(self) -> ObjectKey:
        return lease_key(self.config)

    @property
    def name(self) -> str:
        return self.config.component_name

    @property
    def event_source(self) -> EventSource:
        """`kubelet` on host `node_name`, as cmd/kubelet/app/server.go's makeEventRecorder."""
        return EventSource(component=KUBELET, host=self.config.node_name)

    @property
    def watches(self) -> frozenset[Kind]:
        return frozenset({Kind.POD, Kind.NODE})

    # -- init

    def init(self, view: ClusterState, now: Time) -> tuple[KubeletState, tuple[Effect, ...]]:
        """Rebuild from a fresh LIST; configure the runtime's pod network; start heartbeats."""
        pods, _errors = static_pods(self.config)
        s = KubeletState(view=view, now=now, statics=pods, node_ip=node_ip_of(view, self.config))
        for pod in pods:
            s = _put_worker(s, pw.new_worker(pod, self.config, static=True))
        for key in pods_on_node(view, self.config.node_name):
            s = self._adopt(s, key)
        effects: list[Effect] = [WakeMeAt(at=now, key=Timer.HEARTBEAT)]
        effects.extend(self._orphaned_mirrors(view, pods))
        s, more = self._configure_network(s)
        effects.extend(more)
        return s, tuple(effects)

    def _orphaned_mirrors(self, view: ClusterState, statics: tuple[Pod, ...]) -> tuple[Effect, ...]:
        """Deletes of this node's mirror pods whose static pod is gone (the manifest was
        removed while the kubelet was down), as upstream's podManager does at start.
        Fire and forget: a failed delete is retried at the next start or resync."""
        mine = {(p.metadata.namespace, p.metadata.name) for p in statics}
        out: list[Effect] = []
        for key in pods_on_node(view, self.config.node_name):
            pod = get(view, key)
            if isinstance(pod, Pod) and is_mirror_pod(pod) and (key.namespace, key.name) not in mine:
                req = Delete(key=key, grace_period_seconds=0, precondition_uid=pod.metadata.uid)
                out.append(CallApi(request=req, tag=OrphanMirror(pod=key)))
        return tuple(out)

    # -- step

    def step(self, s: KubeletState, event: Event) -> tuple[KubeletState, tuple[Effect, ...]]:
        """Absorb one event, then sync the pods it touched (in uid order)."""
        effects: list[Effect] = []
        touched: Iterable[str]
        if isinstance(event, WatchDelivered):  # the commonest event: one state copy for the time and the view
            wev = event.event
            obj = wev.obj
            view = observe(s.view, wev)
            if isinstance(obj, Pod):
                s = _evolve_state(s, now=event.now, view=view)
                s, touched = self._pod_changed(s, wev.key, wev.type, obj)
            elif isinstance(obj, Node):
                s = _evolve_state(s, now=event.now, view=view, node_ip=node_ip_of(view, self.config))
                touched = ()
                if obj.metadata.name == self.config.node_name:
                    s, more = self._configure_network(s)
                    effects.extend(more)
                    touched = sorted(s.workers)
            else:
                s = _evolve_state(s, now=event.now, view=view)
                touched = ()
            return self._sync_all(s, touched, effects)
        # the idle node's two events, each with one state copy: its heartbeat timer and
        # the answer to its Lease renewal
        if type(event) is TimerFired and event.key is Timer.HEARTBEAT:
            return self._heartbeat(s, event.now)
        if type(event) is ApiAnswered and type(event.tag) in _LEASE_TAGS:
            return self._lease_answered(s, event.now, type(event.tag) is LeaseRead, event.response)
        if s.now != event.now:
            s = _evolve_state(s, now=event.now)
        match event:
            case Started():
                touched = sorted(s.workers)
            case WatchDelivered():
                raise AssertionError("handled above")  # pragma: no cover
            case Resynced(view=view):
                s = _evolve_state(s, view=view, node_ip=node_ip_of(view, self.config))
                effects.extend(self._orphaned_mirrors(view, s.statics))
                for key in pods_on_node(view, self.config.node_name):
                    s = self._adopt(s, key)
                s, more = self._configure_network(s)
                effects.extend(more)
                touched = sorted(s.workers)
            case ApiAnswered():
                s, touched, more = self._api_answered(s, event)
                effects.extend(more)
            case TimerFired(key=SyncPod(uid=uid)):
                touched = (uid,)
            case TimerFired():  # (the heartbeat is handled above)
                touched = ()
            case RuntimeAnswered(tag=tag, result=result):
                s, touched, more = self._runtime_answered(s, tag, result)
                effects.extend(more)
            case RuntimeNotified(event=rev):
                s, touched, more = self._runtime_notified(s, rev)
                effects.extend(more)
            case _:
                assert_never(event)
        return self._sync_all(s, touched, effects)

    def _sync_all(
        self, s: KubeletState, touched: Iterable[str], effects: list[Effect]
    ) -> tuple[KubeletState, tuple[Effect, ...]]:
        """Sync the touched pods in uid order, after `effects`."""
        if touched:
            # the view and the images are as of this event for every sync below
            env = self._env(s)
            for uid in sorted(set(touched)):
                s, more = self._sync(s, uid, env)
                effects.extend(more)
        return s, tuple(effects)

    # -- pods from the API

    def _adopt(self, s: KubeletState, key: ObjectKey, known: Pod | None = None) -> KubeletState:
        """Start a worker for the pod at `key` (`known`: the view's pod there, if the
        caller has it) when it is new on this node."""
        pod = known if known is not None else get(s.view, key)
        if not isinstance(pod, Pod):
            return s
        uid = pod.metadata.uid
        if uid in s.workers or pod.spec.node_name != self.config.node_name or is_mirror_pod(pod):
            return s
        rejection = None
        fresh = not pod.status.container_statuses and not pod.status.init_container_statuses
        if fresh and not pw.is_terminal(pod.status.phase or PodPhase.PENDING) and pod.metadata.deletion_timestamp is None:
            live = [w for w in s.workers.values() if w.rejection is None and not w.deleting]
            admitted = [w.pod for w in live]
            admitted.sort(key=lambda p: (p.metadata.namespace, p.metadata.name))
            requests = {w.pod.metadata.uid: w.requests for w in live}

            def requests_of(p: Pod) -> Resources:
                known = requests.get(p.metadata.uid)
                return known if known is not None else pod_requests(p)

            rejection = admit_pod(s.view, self.config, pod, admitted, requests_of)
        worker = pw.new_worker(pod, self.config, rejection=rejection)
        s = _put_worker(s, worker)
        return _evolve_state(
            s, reported=s.reported.set(uid, Reported(status=pod.status, rv=pod.metadata.resource_version))
        )

    def _pod_changed(
        self, s: KubeletState, key: ObjectKey, type_: WatchType, pod: Pod
    ) -> tuple[KubeletState, tuple[str, ...]]:
        """Adopt the pod if it is new here; the uids of the workers at its key."""
        if type_ is WatchType.ADDED or type_ is WatchType.MODIFIED:
            s = self._adopt(s, key, pod)  # the view holds the event's object now
        elif type_ is not WatchType.DELETED:  # (a DELETED pod is in the view no more)
            s = self._adopt(s, key)
        return s, s.uids_by_key.get(key, ())

    # -- sync one pod

    def _env(self, s: KubeletState) -> pw.Env:
        return pw.Env(config=self.config, node_ip=s.node_ip, images=s.images, now=s.now)

    def _sync(self, s: KubeletState, uid: str, env: pw.Env) -> tuple[KubeletState, tuple[Effect, ...]]:
        """Plan the pod's runtime calls and write its status; the worker and the report
        are stored once at the end, and only when they changed."""
        w = before = s.workers.get(uid)
        if w is None:
            return s, ()
        now = s.now
        if w.wakes and any(t <= now for t in w.wakes):
            w = pw.evolve_worker(w, wakes=pmap({t: m for t, m in w.wakes.items() if t > now}))
        api_pod = self._api_pod(s, w)
        if not w.static:
            if api_pod is None:
                w = pw.evolve_worker(w, deleting=True, gone_from_api=True)
            else:
                deleting = w.deleting or api_pod.metadata.deletion_timestamp is not None
                if w.pod is not api_pod or w.deleting is not deleting:
                    w = pw.evolve_worker(w, pod=api_pod, deleting=deleting)
        stored = s.reported.get(uid)
        rep = stored if stored is not None else _NOTHING_REPORTED
        if api_pod is not None and api_pod.metadata.resource_version > rep.rv:
            # someone else wrote after our last write: build on theirs, and write again
            # even what we sent before (a recreated mirror pod starts with no status)
            rep = _evolve_rep(rep, status=api_pod.status, rv=api_pod.metadata.resource_version, sent=None)
        if w.static and api_pod is not None and rep.mirror_sent:
            rep = _evolve_rep(rep, mirror_sent=False)
        if w.static and api_pod is None and rep.delete_sent:
            rep = _evolve_rep(rep, delete_sent=False)
        if rep.status.phase is not None:
            floor = later_phase(w.floor, rep.status.phase)
            if floor is not w.floor:
                w = pw.evolve_worker(w, floor=floor)
        w, outs = pw.plan(w, env, pod_phase(w))
        if w.torn_down and not w.sandbox_busy:
            w, more_outs = pw.plan(w, env, pod_phase(w))
            outs = outs + more_outs
        s, w, effects = self._perform(s, w, outs)
        s, kept, rep, more = self._write_status(s, w, rep, api_pod, env.node_ip)
        if kept is None:
            return _drop_worker(s, uid), (*effects, *more)
        # (only `_drop_worker` above changes the workers within a sync)
        if before is not kept:
            if stored is not rep:
                s = _evolve_state(s, workers=s.workers.set(uid, kept), reported=s.reported.set(uid, rep))
            else:
                s = _evolve_state(s, workers=s.workers.set(uid, kept))
        elif stored is not rep:
            s = _evolve_state(s, reported=s.reported.set(uid, rep))
        return s, (*effects, *more)

    def _api_pod(self, s: KubeletState, w: pw.PodWorker) -> Pod | None:
        pod = get(s.view, w.key)
        if not isinstance(pod, Pod):
            return None
        if w.static:
            return pod if is_mirror_pod(pod) else None
        return pod if pod.metadata.uid == w.uid else None

    def _perform(
        self, s: KubeletState, w: pw.PodWorker, outs: tuple[pw.Out, ...]
    ) -> tuple[KubeletState, pw.PodWorker, tuple[Effect, ...]]:
        """The effects of a plan's outs; `w` gains the wakes asked for (not stored)."""
        if not outs:
            return s, w, ()
        effects: list[Effect] = []
        wakes = w.wakes
        for out in outs:
            match out:
                case pw.Ask(call=call, purpose=purpose):
                    effects.append(CallRuntime(node=self.config.node_name, call=call, tag=purpose))
                case RecordEvent():
                    effects.append(out)
                case pw.Wake(at=at, in_motion=moving):
                    # one timer per time, and one more if a wake in motion joins one that is not
                    queued = wakes.get(at)
                    if queued is None or (moving and not queued):
                        wakes = wakes.set(at, moving)
                        effects.append(WakeMeAt(at=at, key=SyncPod(uid=w.uid), in_motion=moving))
                case _:
                    assert_never(out)
        if wakes is not w.wakes:
            w = pw.evolve_worker(w, wakes=wakes)
        return s, w, tuple(effects)

    def _write_status(
        self, s: KubeletState, w: pw.PodWorker, rep: Reported, api_pod: Pod | None, node_ip: str
    ) -> tuple[KubeletState, pw.PodWorker | None, Reported, tuple[Effect, ...]]:
        """The status write (or final delete) the pod needs: the state, the worker to keep
        (None: forget the pod), the new report, the effects."""
        uid = w.uid
        if w.gone_from_api:
            if w.torn_down and not w.static:
                return s, None, rep, ()
            return s, w, rep, ()
        if api_pod is None:  # a static pod without its mirror yet
            s, rep, effects = self._ensure_mirror(s, w, rep)
            return s, w, rep, effects
        if w.static and api_pod.metadata.deletion_timestamp is not None:
            # someone deletes the mirror: finish the deletion, the next sync recreates it
            # (upstream: the kubelet deletes and recreates an outdated or deleted mirror)
            if rep.delete_sent:
                return s, w, rep, ()
            req = Delete(key=w.key, grace_period_seconds=0, precondition_uid=api_pod.metadata.uid)
            return s, w, _evolve_rep(rep, delete_sent=True), (CallApi(request=req, tag=PodCall(uid=uid, asked=Asked.DELETE)),)
        if rep.busy:  # a write is in flight: only the phase floor moves now
            phase = status_phase(w)
            if phase != w.floor:
                w = pw.evolve_worker(w, floor=phase)
            return s, w, rep, ()
        desired = settled_status(w, rep.status, node_ip)
        if desired is None:
            desired = compute_status(w, rep.status, node_ip, s.now)
            if desired.phase is not None and desired.phase != w.floor:
                w = pw.evolve_worker(w, floor=desired.phase)
            w = remember_status(w, desired, node_ip)
        if desired != rep.status and desired != rep.sent:
            obj = _evolve_pod(
                api_pod,
                metadata=_evolve_meta(api_pod.metadata, resource_version=rep.rv),
                status=desired,
            )
            effect = CallApi(request=Update(obj=obj, subresource=Subresource.STATUS), tag=PodCall(uid=uid, asked=Asked.STATUS))
            return s, w, _evolve_rep(rep, busy=True, sent=desired), (effect,)
        if w.deleting and w.torn_down and not rep.delete_sent and not w.static and desired == rep.status:
            req = Delete(key=w.key, grace_period_seconds=0, precondition_uid=uid)
            return s, w, _evolve_rep(rep, delete_sent=True), (CallApi(request=req, tag=PodCall(uid=uid, asked=Asked.DELETE)),)
        return s, w, rep, ()

    def _ensure_mirror(
        self, s: KubeletState, w: pw.PodWorker, rep: Reported
    ) -> tuple[KubeletState, Reported, tuple[Effect, ...]]:
        node = _node(s.view, self.config)
        if rep.mirror_sent or node is None or not node.metadata.uid:
            return s, rep, ()
        rep = _evolve_rep(rep, mirror_sent=True)
        return s, rep, (CallApi(request=Create(obj=mirror_pod(w.pod, node)), tag=PodCall(uid=w.uid, asked=Asked.MIRROR)),)

    # -- answers

    def _api_answered(
        self, s: KubeletState, ev: ApiAnswered
    ) -> tuple[KubeletState, tuple[str, ...], tuple[Effect, ...]]:
        call = ev.tag
        if not isinstance(call, PodCall):  # the node's status, an orphaned mirror's delete
            return s, (), ()
        resp = ev.response
        uid = call.uid
        rep = s.reported.get(uid)
        if rep is None:
            return s, (), ()
        body = resp.body
        retry = WakeMeAt(at=Time(s.now + API_RETRY_SECONDS), key=SyncPod(uid=uid))
        match call.asked:
            case Asked.STATUS:
                if resp.ok and isinstance(body, Pod):
                    rep = _evolve_rep(rep, busy=False, status=body.status, rv=max(rep.rv, body.metadata.resource_version))
                    s = _evolve_state(s, reported=s.reported.set(uid, rep))
                    return s, (uid,), ()
                rep = _evolve_rep(rep, busy=False, sent=None)
                s = _evolve_state(s, reported=s.reported.set(uid, rep))
                if _reason(body) is StatusReason.NOT_FOUND:
                    return s, (uid,), ()
                # a 409 is someone else's newer write: rebased and written again at once,
                # work in motion; any other refusal repeats until something changes
                conflict = resp.code == 409
                wait = STATUS_RETRY_SECONDS if conflict else API_RETRY_SECONDS
                return s, (), (WakeMeAt(at=Time(s.now + wait), key=SyncPod(uid=uid), in_motion=conflict),)
            case Asked.DELETE:
                if resp.ok or _reason(body) is StatusReason.NOT_FOUND or resp.code == 409:
                    return s, (uid,), ()
                s = _evolve_state(s, reported=s.reported.set(uid, _evolve_rep(rep, delete_sent=False)))
                return s, (), (retry,)
            case Asked.MIRROR:
                if resp.ok or _reason(body) is StatusReason.ALREADY_EXISTS:
                    return s, (uid,), ()
                s = _evolve_state(s, reported=s.reported.set(uid, _evolve_rep(rep, mirror_sent=False)))
                return s, (), (retry,)
            case _:
                assert_never(call.asked)

    def _lease_answered(
        self, s: KubeletState, now: Time, read: bool, resp: Response
    ) -> tuple[KubeletState, tuple[Effect, ...]]:
        """The Lease a write or a re-read (`read`) returned goes into the view (upstream's
        `latestLease`); a refused write re-reads it, a re-read that finds none forgets it
        (the next heartbeat creates it)."""
        body = resp.body
        if resp.ok and isinstance(body, Lease):
            return _evolve_state(s, now=now, view=with_lease(s.view, body)), ()
        if read:
            s = _evolve_state(s, now=now)
            stale = get(s.view, self._lease_key)
            if _reason(body) is StatusReason.NOT_FOUND and stale is not None:
                gone = WatchEvent(type=WatchType.DELETED, obj=stale, resource_version=s.view.revision)
                return _evolve_state(s, view=observe(s.view, gone)), ()
            return s, ()
        if resp.code == 409 or _reason(body) in (StatusReason.NOT_FOUND, StatusReason.ALREADY_EXISTS):
            return _evolve_state(s, now=now), (CallApi(request=Get(key=self._lease_key), tag=LeaseRead(at=now)),)
        # unreachable apiserver: the next heartbeat tries again
        return _evolve_state(s, now=now), ()

    def _runtime_answered(
        self, s: KubeletState, purpose: object, result: RuntimeResult
    ) -> tuple[KubeletState, tuple[str, ...], tuple[Effect, ...]]:
        if isinstance(result, RuntimeConfigured):
            return s, tuple(sorted(s.workers)), ()
        if not isinstance(purpose, pw.Purpose):  # UpdateRuntimeConfig refused
            return s, (), ()
        w = s.workers.get(purpose.uid)
        if w is None:
            return s, (), ()
        env = self._env(s)
        w, outs = pw.on_answer(w, purpose, result, env)
        s, w, effects = self._perform(s, w, outs)
        return _put_worker(s, w), (w.uid,), effects

    def _runtime_notified(
        self, s: KubeletState, ev: RuntimeEvent
    ) -> tuple[KubeletState, tuple[str, ...], tuple[Effect, ...]]:
        if isinstance(ev, ImagePulled):
            s = _evolve_state(s, images=s.images.add(ev.image))
        match ev:
            case ImagePulled(sandbox_id=sid) | ImagePullFailed(sandbox_id=sid) | ContainerExited(sandbox_id=sid):
                pass
            case _:
                assert_never(ev)
        owners = [uid for uid, w in s.workers.items() if pw.owns_sandbox(w, sid)]
        if not owners:
            return s, (), ()
        owner = s.workers[min(owners)]  # the first in uid order, as ever
        env = self._env(s)
        w, outs = pw.on_runtime_event(owner, ev, env)
        s, w, effects = self._perform(s, w, outs)
        return _put_worker(s, w), (w.uid,), effects

    # -- node

    def _configure_network(self, s: KubeletState) -> tuple[KubeletState, tuple[Effect, ...]]:
        node = _node(s.view, self.config)
        cidr = node.spec.pod_cidr if node is not None else ""
        if not cidr or cidr == s.pod_cidr:
            return s, ()
        s = _evolve_state(s, pod_cidr=cidr)
        call = UpdateRuntimeConfig(pod_cidr=cidr)
        return s, (CallRuntime(node=self.config.node_name, call=call, tag=NetworkConfig(pod_cidr=cidr)),)

    def _heartbeat(self, s: KubeletState, now: Time) -> tuple[KubeletState, tuple[Effect, ...]]:
        """The node status update when due, the Lease renewal, the next heartbeat timer:
        one state copy. The status check is skipped while the Node is the one whose
        status the setters last found unchanged and its report is not due."""
        config = self.config
        view = s.view
        found = get(view, self._node_key)
        node = found if isinstance(found, Node) else None
        checked_rv, checked_hb = s.status_checked_rv, s.status_checked_hb
        status_req: Request | None = None
        if (
            node is None
            or node.metadata.resource_version != checked_rv
            or checked_hb is None
            or now - checked_hb >= config.node_status_report_frequency  # (report_due)
        ):
            status_req = node_status_request(view, config, now)
            if status_req is None and node is not None and node.metadata.resource_version > 0:
                checked_rv, checked_hb = node.metadata.resource_version, last_heartbeat(node)
        lease = get(view, self._lease_key)
        lease_req = renew_lease(lease if isinstance(lease, Lease) else None, node, config, now)
        effects: list[Effect] = []
        if status_req is not None:
            effects.append(CallApi(request=status_req, tag=NodeStatusUpdate(at=now)))
        effects.append(CallApi(request=lease_req, tag=LeaseRenewal(at=now)))
        effects.append(WakeMeAt(at=Time(now + config.node_status_update_frequency), key=Timer.HEARTBEAT))
        s = _evolve_state(s, now=now, status_checked_rv=checked_rv, status_checked_hb=checked_hb)
        return s, tuple(effects)


def with_lease(view: ClusterState, lease: Lease) -> ClusterState:
    """`observe(view, <MODIFIED lease>)`, the same value, cheaper for a renewal: when the
    view holds a Lease at its key with the same ownerReferences (the only Lease field an
    index reads) and the namespace holds no quota, `put` would touch no index, so the
    table entry and the revision change in one copy."""
    meta = lease.metadata
    rv = meta.resource_version
    tkey = (meta.namespace, meta.name)
    tables = view.tables
    try:
        table = tables[Kind.LEASE]
        old = table[tkey]
    except KeyError:
        old = None
    if (
        isinstance(old, Lease)
        and (old.metadata.owner_references is meta.owner_references or old.metadata.owner_references == meta.owner_references)
        and meta.namespace not in view.quota_usage
    ):
        revision = rv if rv > view.revision else view.revision
        return _evolve_view(view, tables=pmap_set(tables, Kind.LEASE, pmap_set(table, tkey, lease)), revision=revision)
    return observe(view, WatchEvent(type=WatchType.MODIFIED, obj=lease, resource_version=rv))


def _reason(body: object) -> StatusReason | None:
    return body.reason if isinstance(body, Status) else None


def _put_worker(s: KubeletState, w: pw.PodWorker) -> KubeletState:
    uid = w.uid
    before = s.workers.get(uid)
    if before is w:
        return s
    if before is None:  # a new worker: indexed under its pod's key
        uids = s.uids_by_key.get(w.key, ())
        return _evolve_state(s, workers=s.workers.set(uid, w), uids_by_key=s.uids_by_key.set(w.key, (*uids, uid)))
    return _evolve_state(s, workers=s.workers.set(uid, w))


def _drop_worker(s: KubeletState, uid: str) -> KubeletState:
    w = s.workers.get(uid)
    by_key = s.uids_by_key
    if w is not None:
        rest = tuple(u for u in by_key.get(w.key, ()) if u != uid)
        by_key = by_key.set(w.key, rest) if rest else by_key.discard(w.key)
    return _evolve_state(s, workers=s.workers.discard(uid), reported=s.reported.discard(uid), uids_by_key=by_key)
