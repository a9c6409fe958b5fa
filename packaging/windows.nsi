; The Windows installer: makensis -DVERSION=… -DSRC=<folder with the zip's files> -DOUT=<setup.exe>
; packaging/windows.nsi (scripts/package windows runs it). For one user, without administrator
; rights: the files in %LOCALAPPDATA%\Programs\ssotray, a Start menu shortcut to the tray app,
; the folder on the user's PATH (so `credential_process = ssotray …` works), and an entry in
; the user's Apps & features list. Uninstalling removes all of that and the app's start at
; login, and leaves the user's settings, state and ~/.aws alone.
;
; PATH is edited by the installed ssotray.exe (`ssotray user-path add|remove DIR`), never here:
; Debian's makensis has strings of 1024 characters, so ReadRegStr of a longer PATH gives an
; empty string (and a PATH near the limit comes back cut), and writing that back destroyed the
; user's PATH. ssotray.exe reads and writes the value whole and leaves it alone when it cannot.
Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma

!include "LogicLib.nsh"
!include "WinMessages.nsh"

!define UNINST "Software\Microsoft\Windows\CurrentVersion\Uninstall\ssotray"
!define ENV "Environment"

Name "ssotray ${VERSION}"
OutFile "${OUT}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\ssotray"
InstallDirRegKey HKCU "Software\ssotray" "InstallDir"
ShowInstDetails show
LicenseData "${SRC}\LICENSE-MIT"

Page license
Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "ssotray"
  SetOutPath "$INSTDIR"
  File "${SRC}\ssotray.exe"
  File "${SRC}\ssotray-app.exe"
  File "${SRC}\WebView2Loader.dll"
  File "${SRC}\README.txt"
  File "${SRC}\LICENSE-MIT"
  File "${SRC}\LICENSE-APACHE"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "$SMPROGRAMS\ssotray.lnk" "$INSTDIR\ssotray-app.exe"

  WriteRegStr HKCU "Software\ssotray" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINST}" "DisplayName" "ssotray"
  WriteRegStr HKCU "${UNINST}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST}" "Publisher" "ssotray"
  WriteRegStr HKCU "${UNINST}" "DisplayIcon" "$INSTDIR\ssotray-app.exe"
  WriteRegStr HKCU "${UNINST}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST}" "NoRepair" 1

  ; The folder on the user's PATH, once (a console program, run without a window).
  nsExec::ExecToLog '"$INSTDIR\ssotray.exe" user-path add "$INSTDIR"'
  Pop $0
  ${If} $0 != 0
    DetailPrint "PATH was left as it was ($0): add $INSTDIR to it in Environment Variables."
  ${EndIf}
  SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=500
SectionEnd

Section "Uninstall"
  ; A running tray app keeps its file open (a running `ssotray keep` is the user's to stop).
  ExecWait '"$SYSDIR\taskkill.exe" /IM ssotray-app.exe /F'
  ; The folder off the user's PATH, by the program being uninstalled (run from its folder,
  ; before it goes).
  nsExec::ExecToLog '"$INSTDIR\ssotray.exe" user-path remove "$INSTDIR"'
  Pop $0
  ${If} $0 != 0
    DetailPrint "PATH was left as it was ($0): take $INSTDIR off it in Environment Variables."
  ${EndIf}
  SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=500

  Delete "$INSTDIR\ssotray.exe"
  Delete "$INSTDIR\ssotray-app.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\LICENSE-MIT"
  Delete "$INSTDIR\LICENSE-APACHE"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\ssotray.lnk"
  DeleteRegKey HKCU "${UNINST}"
  DeleteRegKey HKCU "Software\ssotray"
  ; Start at login, as the app's setting writes it.
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "ssotray"
SectionEnd
