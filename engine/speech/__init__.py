"""Voice: audio sources and sinks, voice activity and turn detection, recognition, synthesis,
the voice speaker with truthful barge-in, and :func:`run_voice` that runs an agent session
by voice (docs/voice.md).

The models need the ``voice`` extra (faster-whisper with Whisper tiny.en); Piper, the
preferred voice, is the optional ``piper`` extra, else ``espeak-ng`` speaks.
"""

from counterpoint.engine.speech.asr import VoiceUnavailable
from counterpoint.engine.speech.audio import AudioError
from counterpoint.engine.speech.clock import Record, VoiceLog
from counterpoint.engine.speech.session import VoiceEngines, VoiceReport, load_engines, run_voice
from counterpoint.engine.speech.settings import VoiceConfig
from counterpoint.engine.speech.sinks import CallRecording, NullSink, Sink, SpeakerSink
from counterpoint.engine.speech.sources import (
    AudioSource,
    MicrophoneSource,
    SamplesSource,
    ScriptedCaller,
)
from counterpoint.engine.speech.speaker import VoiceSpeaker

__all__ = [
    "AudioError", "AudioSource", "CallRecording", "MicrophoneSource", "NullSink", "Record", "SamplesSource",
    "ScriptedCaller", "Sink", "SpeakerSink", "VoiceConfig", "VoiceEngines", "VoiceLog", "VoiceReport",
    "VoiceSpeaker", "VoiceUnavailable", "load_engines", "run_voice",
]  # fmt: skip
