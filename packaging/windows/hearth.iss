; Inno Setup 6 script: a Windows installer from the PyInstaller folder (packaging/hearth.spec).
;
; NOT RUN in Hearth's own build environment (Linux): it is built by the "windows" job of
; .github/workflows/installers.yml, or by hand on Windows:
;   pyinstaller packaging\hearth.spec --distpath build\packaging\pyinstaller\dist ^
;       --workpath build\packaging\pyinstaller\work
;   iscc /DAppVersion=0.1.0 packaging\windows\hearth.iss
; (packaging\windows\build_windows.ps1 does both, plus the self-test and a portable .zip.)
;
; Installs per user by default (no administrator needed), or for all users when chosen; adds a
; Start menu entry, an optional desktop icon, and "Open with Hearth" for .gguf and .pdf files.
; Keep in step with the Linux recipe: same bundle, same file types, same icon.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\packaging\pyinstaller\dist\hearth"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{7B0E9D3C-4F1A-4C52-9B7E-2E7C5A61F0D4}
AppName=Hearth
AppVersion={#AppVersion}
AppVerName=Hearth {#AppVersion}
AppPublisher=Hearth
AppComments=Private, local AI on your own files
DefaultDirName={autopf}\Hearth
DefaultGroupName=Hearth
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=Hearth-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\hearth.ico
UninstallDisplayIcon={app}\Hearth.exe
UninstallDisplayName=Hearth
; The bundle holds ~1 GB of libraries and models; lzma2 keeps the installer near the .tar.gz size.
Compression=lzma2
SolidCompression=yes
LZMAUseSeparateProcess=yes
ChangesAssociations=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "gguf"; Description: "Open GGUF model files (.gguf) with Hearth"; GroupDescription: "File types:"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Hearth"; Filename: "{app}\Hearth.exe"; Comment: "Private, local AI on your own files"
Name: "{autodesktop}\Hearth"; Filename: "{app}\Hearth.exe"; Tasks: desktopicon

[Registry]
; The app's own entry: lets Windows offer Hearth in "Open with" for the types it declares.
Root: HKA; Subkey: "Software\Classes\Applications\Hearth.exe"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "Hearth"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\Hearth.exe\SupportedTypes"; ValueType: string; ValueName: ".pdf"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\Hearth.exe\SupportedTypes"; ValueType: string; ValueName: ".gguf"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\Hearth.exe\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Hearth.exe"" ""%1"""
; GGUF: Hearth becomes the default program (optional task).
Root: HKA; Subkey: "Software\Classes\.gguf\OpenWithProgids"; ValueType: string; ValueName: "Hearth.gguf"; ValueData: ""; Flags: uninsdeletevalue; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\.gguf"; ValueType: string; ValueName: ""; ValueData: "Hearth.gguf"; Flags: uninsdeletevalue; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\Hearth.gguf"; ValueType: string; ValueName: ""; ValueData: "GGUF model"; Flags: uninsdeletekey; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\Hearth.gguf\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\Hearth.exe,0"; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\Hearth.gguf\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Hearth.exe"" ""%1"""; Tasks: gguf
; PDF: only listed under "Open with"; the person's PDF reader stays the default.
Root: HKA; Subkey: "Software\Classes\.pdf\OpenWithProgids"; ValueType: string; ValueName: "Hearth.pdf"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Hearth.pdf"; ValueType: string; ValueName: ""; ValueData: "PDF document (Hearth)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Hearth.pdf\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Hearth.exe"" ""%1"""

[Run]
Filename: "{app}\Hearth.exe"; Description: "{cm:LaunchProgram,Hearth}"; Flags: nowait postinstall skipifsilent
