"""Face (SPEC §5): one pipeline (decode, detect, quality gates, align, embed), matching and active liveness.

Entry points for the HTTP flows (real-name sessions, face enrolment, the FACE method of §4):
``shared.face.wiring.face_service(settings)`` -> :class:`shared.face.service.FaceService`.
"""
